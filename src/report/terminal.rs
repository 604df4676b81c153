//! What `obconform run` prints while it runs. On a terminal: a progress bar (scenarios done,
//! failed, the ones running) with each finished scenario printed above it. Otherwise plain lines:
//! with one job, each step as it finishes; with several, each scenario's lines together when it
//! finishes, so parallel scenarios never interleave.

use super::console;
use super::sink::Sink;
use crate::report::printable::printable;
use crate::run::events::{Event, Reporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::time::Duration;

/// How the terminal shows a run's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    Auto,
    Bar,
    Plain,
}

pub struct RunOutput {
    /// stdout, or stderr when stdout carries a machine format.
    sink: Sink,
    /// Whether a progress bar is shown (made when the run starts and its size is known).
    use_bar: bool,
    bar: Option<ProgressBar>,
    /// Steps printed as they finish (plain output, one job).
    live: bool,
    running: Vec<String>,
    failed: usize,
    /// The step lines of each running scenario, printed together when it finishes (not live).
    kept: HashMap<String, Vec<String>>,
    /// Scenarios left out before the run, with why: listed above the summary.
    skipped: Vec<String>,
    /// Verdicts in colour: the console is a terminal and `NO_COLOR` is not set.
    colour: bool,
}

impl RunOutput {
    pub fn new(mode: ProgressMode, jobs: usize, sink: Sink) -> RunOutput {
        let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let use_bar = match mode {
            ProgressMode::Bar => true,
            ProgressMode::Plain => false,
            ProgressMode::Auto => terminal && std::env::var_os("CI").is_none(),
        };
        RunOutput {
            colour: colour_wanted(sink),
            sink,
            live: !use_bar && jobs == 1,
            use_bar,
            bar: None,
            running: Vec::new(),
            failed: 0,
            skipped: Vec::new(),
            kept: HashMap::new(),
        }
    }

    /// A line outside any scenario (the environment's header).
    fn line(&self, text: &str) {
        let text = self.paint(&printable(text));
        match &self.bar {
            Some(bar) => bar.suspend(|| self.sink.line(&text)),
            None => self.sink.line(&text),
        }
    }

    /// A scenario starts; with live output its header is printed now.
    fn started(&mut self, test_name: &str, header: &str) {
        if self.live {
            self.sink.line(&format!("\n{}", printable(header)));
        }
        self.running.push(test_name.to_string());
        self.kept.insert(test_name.to_string(), Vec::new());
        self.refresh();
    }

    /// A step finished: printed now (live), else kept for `finished`.
    fn step(&mut self, test_name: &str, line: String) {
        if self.live {
            self.sink.line(&self.paint(&printable(&line)));
        } else {
            self.kept
                .entry(test_name.to_string())
                .or_default()
                .push(line);
        }
    }

    /// A scenario finished: its block (or, live, its summary line).
    fn finished(&mut self, test_name: &str, header: &str, summary: &str, passed: bool) {
        let lines = self.kept.remove(test_name).unwrap_or_default();
        let block = if self.live {
            summary.to_string()
        } else {
            format!("\n{header}\n{}{summary}", with_newlines(&lines))
        };
        let block = self.paint(&printable(&block));
        self.running.retain(|name| name != test_name);
        if !passed {
            self.failed += 1;
        }
        match &self.bar {
            Some(bar) => {
                bar.suspend(|| self.sink.line(&block));
                bar.inc(1);
                self.refresh();
            }
            None => self.sink.line(&block),
        }
    }

    /// `text` with its verdicts coloured, when colour is wanted. After [`printable`]: the
    /// escapes added here are ours, not the bank's.
    fn paint(&self, text: &str) -> String {
        if !self.colour {
            return text.to_string();
        }
        text.lines().map(paint_line).collect::<Vec<_>>().join("\n")
    }

    fn close(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn refresh(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(status_message(self.failed, &self.running));
        }
    }
}

impl Reporter for RunOutput {
    fn on(&mut self, event: &Event<'_>) {
        match *event {
            Event::RunStarted { total, .. } => {
                if self.use_bar {
                    self.bar = Some(progress_bar(total));
                }
            }
            Event::Skipped { test_name, reason } => {
                self.skipped.push(format!("skipped {test_name}: {reason}"));
            }
            Event::EnvironmentStarted { env, file } => {
                self.line(&format!(
                    "environment {} ({}) — {}",
                    env.name,
                    env.api,
                    file.display()
                ));
                for warning in &env.cert_warnings {
                    self.line(&format!("  warning: {warning}"));
                }
                if let Some(line) = contract_line(env) {
                    self.line(&line);
                }
            }
            Event::ScenarioStarted {
                scenario,
                test_name,
            } => self.started(
                test_name,
                &console::scenario_header(test_name, &scenario.scenario.name),
            ),
            Event::StepFinished {
                source,
                step,
                redactor,
                ..
            } => self.step(source.test_name, console::step_line(step, redactor)),
            Event::ScenarioFinished {
                scenario, outcome, ..
            } => self.finished(
                &outcome.test_name,
                &console::scenario_header(&outcome.test_name, &scenario.scenario.name),
                &console::scenario_summary(outcome),
                outcome.passed(),
            ),
            Event::EnvironmentFinished => self.line(""),
            Event::RunFinished { tally, elapsed } => {
                self.close();
                for line in &self.skipped {
                    self.sink.line(&printable(line));
                }
                let skipped = if tally.skipped == 0 {
                    String::new()
                } else {
                    format!(", {} skipped", tally.skipped)
                };
                self.sink.line(&format!(
                    "scenarios: {} passed, {} failed{skipped} ({} in {:.1} s)",
                    tally.passed,
                    tally.failed,
                    tally.passed + tally.failed,
                    elapsed.as_secs_f64()
                ));
            }
        }
    }
}

/// Colour when the console's stream is a terminal that can show it and `NO_COLOR` is unset
/// (<https://no-color.org>).
fn colour_wanted(sink: Sink) -> bool {
    let terminal = match sink {
        Sink::Stdout => std::io::stdout().is_terminal(),
        Sink::Stderr => std::io::stderr().is_terminal(),
    };
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    terminal && !no_colour && !dumb
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// One console line with its verdict word coloured: PASS green, FAIL and FAILED red, findings
/// (`⚑`) and skips yellow.
fn paint_line(line: &str) -> String {
    let indent = line.len() - line.trim_start().len();
    let (lead, rest) = line.split_at(indent);
    for (word, colour) in [
        ("PASS", GREEN),
        ("FAILED:", RED),
        ("FAIL", RED),
        ("SKIP", YELLOW),
        ("⚑", YELLOW),
    ] {
        if let Some(after) = rest.strip_prefix(word) {
            return format!("{lead}{colour}{word}{RESET}{after}");
        }
    }
    line.to_string()
}

fn progress_bar(total: usize) -> ProgressBar {
    let bar =
        ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr_with_hz(10));
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} scenarios  {wide_msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("█▓░"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// `2 failed · running: ing-psd2::04-granting, ing-psd2::05-ais`.
fn status_message(failed: usize, running: &[String]) -> String {
    let mut parts = Vec::new();
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if !running.is_empty() {
        parts.push(format!("running: {}", running.join(", ")));
    }
    parts.join(" · ")
}

fn with_newlines(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// What the environment's exchanges are held against, or why they are not.
fn contract_line(env: &crate::environment::ActiveEnvironment) -> Option<String> {
    if let Some(note) = &env.contract_note {
        return Some(format!("  {note}"));
    }
    let checks = env.contract.as_ref()?;
    let names: Vec<&str> = checks
        .contract
        .documents
        .iter()
        .map(|d| d.file_name.as_str())
        .collect();
    Some(format!(
        "  contract ({}): {} operations of {}",
        checks.mode.name(),
        checks.contract.operations.len(),
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_says_what_failed_and_what_runs() {
        assert_eq!(status_message(0, &[]), "");
        assert_eq!(
            status_message(2, &["a::1".into(), "b::2".into()]),
            "2 failed · running: a::1, b::2"
        );
    }

    #[test]
    fn plain_output_is_live_only_with_one_job() {
        assert!(RunOutput::new(ProgressMode::Plain, 1, Sink::Stdout).live);
        assert!(!RunOutput::new(ProgressMode::Plain, 4, Sink::Stdout).live);
        let bar = RunOutput::new(ProgressMode::Bar, 1, Sink::Stdout);
        assert!(bar.use_bar && !bar.live);
    }
}
