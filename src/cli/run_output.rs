//! What `obconform run` prints while it runs. On a terminal: a progress bar (scenarios done,
//! failed, the ones running) with each finished scenario printed above it. Otherwise plain lines:
//! with one job, each step as it finishes; with several, each scenario's lines together when it
//! finishes, so parallel scenarios never interleave.

use super::ProgressMode;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::Duration;

pub struct RunOutput {
    bar: Option<ProgressBar>,
    /// Steps printed as they finish (plain output, one job).
    live: bool,
    running: Mutex<Vec<String>>,
    failed: Mutex<usize>,
}

impl RunOutput {
    pub fn new(mode: ProgressMode, total: usize, jobs: usize) -> RunOutput {
        let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let bar = match mode {
            ProgressMode::Bar => true,
            ProgressMode::Plain => false,
            ProgressMode::Auto => terminal && std::env::var_os("CI").is_none(),
        }
        .then(|| progress_bar(total));
        RunOutput {
            live: bar.is_none() && jobs == 1,
            bar,
            running: Mutex::new(Vec::new()),
            failed: Mutex::new(0),
        }
    }

    /// A line outside any scenario (the environment's header).
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    /// A scenario starts; with live output its header is printed now.
    pub fn started(&self, test_name: &str, header: &str) {
        if self.live {
            println!("\n{header}");
        }
        lock(&self.running).push(test_name.to_string());
        self.refresh();
    }

    /// A step finished: printed now (live), else kept by the caller for `finished`.
    pub fn step(&self, line: String, kept: &mut Vec<String>) {
        if self.live {
            println!("{line}");
        } else {
            kept.push(line);
        }
    }

    /// A scenario finished: its block (or, live, its summary line).
    pub fn finished(
        &self,
        test_name: &str,
        header: &str,
        lines: &[String],
        summary: &str,
        passed: bool,
    ) {
        let block = if self.live {
            summary.to_string()
        } else {
            format!("\n{header}\n{}{summary}", with_newlines(lines))
        };
        lock(&self.running).retain(|name| name != test_name);
        if !passed {
            *lock(&self.failed) += 1;
        }
        match &self.bar {
            Some(bar) => {
                bar.suspend(|| println!("{block}"));
                bar.inc(1);
                self.refresh();
            }
            None => println!("{block}"),
        }
    }

    pub fn close(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn refresh(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(status_message(*lock(&self.failed), &lock(&self.running)));
        }
    }
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

/// The lock even if a printing thread panicked: output state is never left inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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
        assert!(RunOutput::new(ProgressMode::Plain, 3, 1).live);
        assert!(!RunOutput::new(ProgressMode::Plain, 3, 4).live);
        let bar = RunOutput::new(ProgressMode::Bar, 3, 1);
        assert!(bar.bar.is_some() && !bar.live);
    }
}
