//! report.html: the run report as one self-contained page — inline CSS, no script, no external URL
//! — so it can be mailed, archived in a certification dossier and opened offline years later.
//! Printing expands every collapsed part. Every text is HTML-escaped here; the model has already
//! redacted the secrets.

use super::model::{
    CertificateReport, EnvironmentReport, FindingReport, Header, RequestReport, ResponseReport,
    RunReport, ScenarioReport, SkippedScenario, StepReport, StepVerdict, Summary,
};
use crate::report::coverage::CoverageReport;
use obconform_core::wire::path_of;
use std::collections::HashSet;

/// Bodies longer than this are cut in the page (report.json keeps them whole).
const BODY_LIMIT: usize = 64 * 1024;

/// Certificates closer to expiry than this are highlighted.
const EXPIRY_WARNING_DAYS: i64 = 30;

const STYLE: &str = include_str!("html.css");

/// The whole page for `report`.
pub fn render(report: &RunReport) -> String {
    let anchors = anchors(&report.scenarios);
    let mut page = String::with_capacity(64 * 1024);
    page.push_str(&head(report));
    page.push_str("<body>\n");
    // Before everything it filters, so that `:has(#only-failures:checked)` can reach them all.
    page.push_str(
        "<input type=\"checkbox\" id=\"only-failures\" class=\"only-failures\" \
         aria-label=\"Show only failures\">\n",
    );
    page.push_str(&run_header(report));
    page.push_str(&nav(report));
    page.push_str("<main>\n");
    page.push_str(&summary_section(&report.summary));
    page.push_str(&grid_section(report, &anchors));
    page.push_str(&scenarios_section(&report.scenarios, &anchors));
    page.push_str(&environments_section(&report.environments));
    page.push_str(&coverage_section(&report.coverage));
    page.push_str(&skipped_section(&report.skipped));
    page.push_str("</main>\n");
    page.push_str(&footer(report));
    page.push_str("</body>\n</html>\n");
    page
}

/// Escapes `text` for element content and quoted attribute values alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn head(report: &RunReport) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{tool}\">\n\
         <title>{verdict} — conformance report — {started}</title>\n<style>\n{STYLE}</style>\n</head>\n",
        tool = escape(&report.tool),
        verdict = run_verdict(&report.summary),
        started = escape(&timestamp(&report.started_at)),
    )
}

fn run_verdict(summary: &Summary) -> &'static str {
    if summary.passed() { "PASSED" } else { "FAILED" }
}

fn run_header(report: &RunReport) -> String {
    let summary = &report.summary;
    let class = if summary.passed() { "passed" } else { "failed" };
    let mut facts = vec![
        ("Started", escape(&timestamp(&report.started_at))),
        ("Finished", escape(&timestamp(&report.finished_at))),
        ("Duration", duration(report.duration_ms)),
        ("Environment", escape(&targets(&report.environments))),
        ("Tool", escape(&report.tool)),
    ];
    if !report.partitions.is_empty() {
        let parts: Vec<String> = report.partitions.iter().map(|p| p.to_string()).collect();
        facts.push(("Partitions", escape(&parts.join(", "))));
    }
    let facts: String = facts
        .iter()
        .map(|(term, value)| format!("<div><dt>{term}</dt><dd>{value}</dd></div>"))
        .collect();
    format!(
        "<header class=\"run {class}\">\n<div class=\"run-inner\">\n\
         <p class=\"kicker\">PSD2 / open-banking conformance report</p>\n\
         <div class=\"verdict-line\"><span class=\"run-mark\" aria-hidden=\"true\">{mark}</span>\
         <h1 class=\"verdict\" data-verdict=\"{class}\">{verdict}</h1>\
         <p class=\"verdict-why\">{why}</p></div>\n\
         <dl class=\"run-facts\">{facts}</dl>\n</div>\n</header>\n",
        mark = if summary.passed() { "✓" } else { "✗" },
        verdict = run_verdict(summary),
        why = verdict_sentence(summary),
    )
}

/// The environments the run went to, once each: `embedded`, `acc (sandbox)`.
fn targets(environments: &[EnvironmentReport]) -> String {
    let mut seen = HashSet::new();
    let names: Vec<String> = environments
        .iter()
        .map(|env| {
            if env.name == env.kind {
                env.name.clone()
            } else {
                format!("{} ({})", env.name, env.kind)
            }
        })
        .filter(|name| seen.insert(name.clone()))
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// One sentence under the verdict: what it rests on.
fn verdict_sentence(summary: &Summary) -> String {
    let ran = summary.scenarios_passed + summary.scenarios_failed;
    let mut sentence = if ran == 0 {
        "No scenario ran".to_string()
    } else if summary.passed() {
        format!("All {ran} scenarios that ran passed")
    } else {
        format!("{} of {ran} scenarios failed", summary.scenarios_failed)
    };
    if summary.scenarios_skipped > 0 {
        sentence.push_str(&format!("; {} skipped", summary.scenarios_skipped));
    }
    sentence.push('.');
    sentence
}

fn nav(report: &RunReport) -> String {
    let mut links = vec![
        ("summary", "Summary"),
        ("grid", "Systems × steps"),
        ("scenarios", "Scenarios"),
        ("environments", "Environments & certificates"),
    ];
    if !report.coverage.is_empty() {
        links.push(("coverage", "Contract coverage"));
    }
    if !report.skipped.is_empty() {
        links.push(("skipped", "Skipped"));
    }
    let links: String = links
        .iter()
        .map(|(id, label)| format!("<a href=\"#{id}\">{label}</a>"))
        .collect();
    format!(
        "<nav class=\"bar\">{links}<label for=\"only-failures\" class=\"switch\">\
         <span class=\"knob\" aria-hidden=\"true\"></span>Show only failures</label></nav>\n"
    )
}

fn summary_section(summary: &Summary) -> String {
    let scenarios = [
        ("scenarios_passed", summary.scenarios_passed, "passed"),
        ("scenarios_failed", summary.scenarios_failed, "failed"),
        ("scenarios_skipped", summary.scenarios_skipped, "skipped"),
    ];
    let steps = [
        ("steps_passed", summary.steps_passed, "passed"),
        ("steps_failed", summary.steps_failed, "failed"),
        ("steps_skipped", summary.steps_skipped, "skipped"),
        ("steps_not_applicable", summary.steps_not_applicable, "na"),
    ];
    format!(
        "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"counts\">\n{}{}</div>\n</section>\n",
        count_group("Scenarios", &scenarios),
        count_group("Steps", &steps),
    )
}

/// A titled group of counts with a proportional bar; `hook` names the Summary field.
fn count_group(title: &str, counts: &[(&str, usize, &str)]) -> String {
    let total: usize = counts.iter().map(|(_, n, _)| n).sum();
    let tiles: String = counts
        .iter()
        .map(|(hook, n, class)| {
            format!(
                "<div class=\"tile {class}{zero}\"><span class=\"n\" data-count=\"{hook}\">{n}</span>\
                 <span class=\"label\">{label}</span></div>",
                zero = if *n == 0 { " zero" } else { "" },
                label = class_label(class),
            )
        })
        .collect();
    let bar: String = counts
        .iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(_, n, class)| {
            format!(
                "<span class=\"{class}\" style=\"width:{:.2}%\"></span>",
                *n as f64 * 100.0 / total as f64
            )
        })
        .collect();
    format!(
        "<div class=\"count-group\"><h3>{title} <span class=\"total\">{total}</span></h3>\
         <div class=\"tiles\">{tiles}</div><div class=\"bar-chart\" aria-hidden=\"true\">{bar}</div></div>\n"
    )
}

fn class_label(class: &str) -> &'static str {
    match class {
        "passed" => "passed",
        "failed" => "failed",
        "skipped" => "skipped",
        _ => "not applicable",
    }
}

fn grid_section(report: &RunReport, anchors: &[String]) -> String {
    let mut body = String::new();
    for system in systems(report) {
        body.push_str(&system_rows(report, anchors, &system));
    }
    format!(
        "<section id=\"grid\">\n<h2>Systems × steps</h2>\n{legend}\
         <table class=\"grid\">\n<thead><tr><th scope=\"col\">Scenario</th>\
         <th scope=\"col\">Steps</th><th scope=\"col\" class=\"num\">Time</th></tr></thead>\n\
         {body}</table>\n</section>\n",
        legend = legend(),
    )
}

fn legend() -> String {
    let items: String = [
        StepVerdict::Passed,
        StepVerdict::Failed,
        StepVerdict::Skipped,
        StepVerdict::NotApplicable,
    ]
    .iter()
    .map(|v| {
        format!(
            "<span><span class=\"cell {}\" aria-hidden=\"true\">{}</span> {}</span>",
            verdict_class(*v),
            verdict_mark(*v),
            legend_text(*v)
        )
    })
    .collect();
    format!("<p class=\"legend\">{items}</p>\n")
}

fn legend_text(verdict: StepVerdict) -> &'static str {
    match verdict {
        StepVerdict::Passed => "passed",
        StepVerdict::Failed => "failed",
        StepVerdict::Skipped => "not run (an earlier step failed)",
        StepVerdict::NotApplicable => "not applicable here",
    }
}

/// Systems in the order they first appear, the skipped scenarios' too.
fn systems(report: &RunReport) -> Vec<String> {
    let ran = report.scenarios.iter().map(|s| s.system.as_str());
    let skipped = report.skipped.iter().map(|s| system_of(&s.test_name));
    let mut seen = HashSet::new();
    ran.chain(skipped)
        .filter(|s| seen.insert(*s))
        .map(str::to_string)
        .collect()
}

fn system_of(test_name: &str) -> &str {
    test_name.split_once("::").map_or(test_name, |(s, _)| s)
}

fn stem_of(test_name: &str) -> &str {
    test_name.split_once("::").map_or(test_name, |(_, s)| s)
}

/// The grid rows of one system: its heading row, one row per scenario, then its skipped ones.
fn system_rows(report: &RunReport, anchors: &[String], system: &str) -> String {
    let scenarios: Vec<(usize, &ScenarioReport)> = report
        .scenarios
        .iter()
        .enumerate()
        .filter(|(_, s)| s.system == system)
        .collect();
    let skipped: Vec<&SkippedScenario> = report
        .skipped
        .iter()
        .filter(|s| system_of(&s.test_name) == system)
        .collect();
    let failed = scenarios.iter().filter(|(_, s)| !s.passed).count();
    let class = if failed > 0 { "failed" } else { "passed" };
    let mut rows = format!(
        "<tbody class=\"system {class}\">\n<tr class=\"system-row\"><th colspan=\"3\" scope=\"rowgroup\">\
         {name} <span class=\"system-counts\">{}</span></th></tr>\n",
        system_counts(scenarios.len() - failed, failed, skipped.len()),
        name = escape(system),
    );
    for (i, scenario) in scenarios {
        rows.push_str(&grid_row(scenario, &anchors[i]));
    }
    for skipped in skipped {
        rows.push_str(&grid_skipped_row(skipped));
    }
    rows.push_str("</tbody>\n");
    rows
}

fn system_counts(passed: usize, failed: usize, skipped: usize) -> String {
    let mut parts = vec![format!("{passed} passed")];
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if skipped > 0 {
        parts.push(format!("{skipped} skipped"));
    }
    parts.join(" · ")
}

fn grid_row(scenario: &ScenarioReport, anchor: &str) -> String {
    let class = scenario_class(scenario);
    let cells: String = scenario
        .steps
        .iter()
        .map(|step| grid_cell(step, anchor))
        .collect();
    format!(
        "<tr class=\"row {class}\"><th scope=\"row\"><a href=\"#{anchor}\">\
         <span class=\"row-mark {class}\" aria-hidden=\"true\">{mark}</span>{stem}</a>\
         <span class=\"row-title\">{title}</span></th>\
         <td class=\"cells\">{cells}</td><td class=\"num\">{elapsed}</td></tr>\n",
        mark = if scenario.passed { "✓" } else { "✗" },
        stem = escape(stem_of(&scenario.test_name)),
        title = escape(&scenario.title),
        elapsed = duration(scenario.elapsed_ms),
    )
}

/// One step of the grid: coloured by verdict, with a symbol for readers who cannot tell colours.
fn grid_cell(step: &StepReport, anchor: &str) -> String {
    let verdict = step.verdict.word();
    format!(
        "<a class=\"cell {class}\" data-cell=\"{verdict}\" href=\"#{anchor}-step-{n}\" \
         title=\"{n}. {name} — {verdict}\">{mark}</a>",
        class = verdict_class(step.verdict),
        n = step.number,
        name = escape(&step.name),
        mark = verdict_mark(step.verdict),
    )
}

fn grid_skipped_row(skipped: &SkippedScenario) -> String {
    format!(
        "<tr class=\"row skipped\"><th scope=\"row\"><a href=\"#skipped\">\
         <span class=\"row-mark skipped\" aria-hidden=\"true\">–</span>{stem}</a></th>\
         <td class=\"cells reason\">skipped: {reason}</td><td class=\"num\"></td></tr>\n",
        stem = escape(stem_of(&skipped.test_name)),
        reason = escape(&skipped.reason),
    )
}

fn scenarios_section(scenarios: &[ScenarioReport], anchors: &[String]) -> String {
    let body: String = scenarios
        .iter()
        .zip(anchors)
        .map(|(scenario, anchor)| scenario_details(scenario, anchor))
        .collect();
    let body = if body.is_empty() {
        "<p class=\"none\">No scenario ran.</p>\n".to_string()
    } else {
        body
    };
    format!(
        "<section id=\"scenarios\">\n<h2>Scenarios</h2>\n\
         <p class=\"hint\">Failed scenarios are open; select a passed one to see its exchanges.</p>\n\
         {body}</section>\n"
    )
}

/// A scenario as a `<details>`: open when it failed, so the page opens on what matters.
fn scenario_details(scenario: &ScenarioReport, anchor: &str) -> String {
    let class = scenario_class(scenario);
    let steps: String = scenario
        .steps
        .iter()
        .map(|step| step_article(step, anchor))
        .collect();
    format!(
        "<details class=\"scenario {class}\" id=\"{anchor}\"{open}>\n\
         <summary><span class=\"badge {class}\">{mark} {word}</span>\
         <span class=\"test-name\">{test_name}</span><span class=\"scenario-title\">{title}</span>\
         <span class=\"scenario-meta\">{steps_count} · {elapsed}</span></summary>\n\
         <div class=\"scenario-body\">\n<dl class=\"facts\"><div><dt>File</dt><dd><code>{file}</code></dd></div>\
         <div><dt>Environment</dt><dd>{env}</dd></div><div><dt>System</dt><dd>{system}</dd></div></dl>\n\
         {steps}</div>\n</details>\n",
        open = if scenario.passed { "" } else { " open" },
        mark = if scenario.passed { "✓" } else { "✗" },
        word = if scenario.passed { "PASSED" } else { "FAILED" },
        test_name = escape(&scenario.test_name),
        title = escape(&scenario.title),
        steps_count = plural(scenario.steps.len(), "step"),
        elapsed = duration(scenario.elapsed_ms),
        file = escape(&scenario.file),
        env = escape(&scenario.environment),
        system = escape(&scenario.system),
    )
}

fn step_article(step: &StepReport, anchor: &str) -> String {
    let class = verdict_class(step.verdict);
    format!(
        "<article class=\"step {class}\" id=\"{anchor}-step-{n}\">\n{head}{note}{failures}{warnings}{findings}{exchange}</article>\n",
        n = step.number,
        head = step_head(step),
        note = step_note(step),
        failures = failures(step),
        warnings = warnings(step),
        findings = findings(&step.findings),
        exchange = exchange(step),
    )
}

fn step_head(step: &StepReport) -> String {
    let call = match (&step.request, &step.response) {
        (Some(req), Some(res)) => format!(
            "<code class=\"call\">{} {} → <span class=\"{}\">{}</span></code>",
            escape(&req.method),
            escape(path_of(&req.url)),
            status_class(res.status),
            res.status
        ),
        (Some(req), None) => format!(
            "<code class=\"call\">{} {} → no response</code>",
            escape(&req.method),
            escape(path_of(&req.url))
        ),
        _ => String::new(),
    };
    let timing = match step.verdict {
        StepVerdict::Passed | StepVerdict::Failed => duration(step.elapsed_ms),
        StepVerdict::Skipped | StepVerdict::NotApplicable => String::new(),
    };
    let attempts = if step.attempts > 1 {
        format!("<span class=\"attempts\">{} attempts</span>", step.attempts)
    } else {
        String::new()
    };
    format!(
        "<header class=\"step-head\"><span class=\"cell {class}\" aria-hidden=\"true\">{mark}</span>\
         <span class=\"step-name\"><span class=\"step-num\">{n}.</span> {name}</span>{call}{attempts}\
         <span class=\"step-time\">{timing}</span><span class=\"step-verdict {class}\">{word}</span></header>\n",
        class = verdict_class(step.verdict),
        mark = verdict_mark(step.verdict),
        n = step.number,
        name = escape(&step.name),
        word = step.verdict.word(),
    )
}

/// Why a step did not run, in words.
fn step_note(step: &StepReport) -> String {
    match step.verdict {
        StepVerdict::Skipped => {
            "<p class=\"step-note\">Not run: an earlier step failed and this one depends on it.</p>\n"
                .to_string()
        }
        StepVerdict::NotApplicable => format!(
            "<p class=\"step-note\">Not applicable on this environment{}</p>\n",
            if step.failures.is_empty() {
                ".".to_string()
            } else {
                let reasons: Vec<&str> = step.failures.iter().map(|f| f.message.as_str()).collect();
                format!(": {}", escape(&reasons.join("; ")))
            }
        ),
        StepVerdict::Passed | StepVerdict::Failed => String::new(),
    }
}

fn failures(step: &StepReport) -> String {
    if step.verdict == StepVerdict::NotApplicable || step.failures.is_empty() {
        return String::new();
    }
    let items: String = step
        .failures
        .iter()
        .map(|f| format!("<li>{}</li>", escape(&f.line())))
        .collect();
    format!("<ul class=\"failures\">{items}</ul>\n")
}

/// What passed checks established (a verified response signature), and the contract
/// violations of a `warn` environment: shown, not failing.
fn warnings(step: &StepReport) -> String {
    let notes: String = step
        .notes
        .iter()
        .map(|n| format!("<li>✓ {}</li>", escape(n)))
        .collect();
    let warnings: String = step
        .warnings
        .iter()
        .map(|w| format!("<li>⚠ {}</li>", escape(&w.line())))
        .collect();
    let mut out = String::new();
    if !notes.is_empty() {
        out.push_str(&format!("<ul class=\"notes\">{notes}</ul>\n"));
    }
    if !warnings.is_empty() {
        out.push_str(&format!("<ul class=\"warnings\">{warnings}</ul>\n"));
    }
    out
}

/// Per environment with a contract: every operation, its documented statuses, those exercised.
fn coverage_section(coverage: &[CoverageReport]) -> String {
    if coverage.is_empty() {
        return String::new();
    }
    let mut body = String::new();
    for report in coverage {
        let touched = report
            .operations
            .iter()
            .filter(|o| !o.received.is_empty())
            .count();
        body.push_str(&format!(
            "<h3>{env}: {touched} of {total} operations</h3>\n<p class=\"specs\">{specs}</p>\n\
             <table class=\"coverage\">\n<thead><tr><th>Operation</th><th>Description</th>\
             <th>Documented statuses (exercised in bold)</th><th>Received</th></tr></thead>\n<tbody>\n",
            env = escape(&report.environment),
            total = report.operations.len(),
            specs = escape(&report.specs.join(", ")),
        ));
        for op in &report.operations {
            let exercised = op.exercised();
            let statuses: Vec<String> = op
                .documented
                .iter()
                .map(|d| {
                    if exercised.contains(&d.as_str()) {
                        format!("<strong class=\"hit\">{}</strong>", escape(d))
                    } else {
                        format!("<span class=\"miss\">{}</span>", escape(d))
                    }
                })
                .collect();
            let received: Vec<String> = op.received.iter().map(u16::to_string).collect();
            let class = if op.received.is_empty() {
                "untouched"
            } else {
                "touched"
            };
            body.push_str(&format!(
                "<tr class=\"{class}\"><td><code>{op}</code></td><td>{spec}</td><td>{statuses}</td><td>{received}</td></tr>\n",
                op = escape(&op.operation),
                spec = escape(&op.spec),
                statuses = statuses.join(" "),
                received = escape(&received.join(", ")),
            ));
        }
        for outside in &report.outside {
            body.push_str(&format!(
                "<tr class=\"outside\"><td><code>{}</code></td><td>in no description</td><td></td><td>{}×</td></tr>\n",
                escape(&outside.request),
                outside.count
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    format!("<section id=\"coverage\">\n<h2>Contract coverage</h2>\n{body}</section>\n")
}

/// The troubleshooting engine's findings: what is wrong and how to fix it.
fn findings(findings: &[FindingReport]) -> String {
    if findings.is_empty() {
        return String::new();
    }
    let items: String = findings
        .iter()
        .map(|f| {
            format!(
                "<div class=\"finding\"><p class=\"finding-id\"><span aria-hidden=\"true\">⚑</span> \
                 <code>{id}</code></p><p class=\"finding-what\">{what}</p>\
                 <p class=\"finding-fix\"><strong>Fix</strong> {fix}</p></div>",
                id = escape(&f.id),
                what = escape(&f.what),
                fix = escape(&f.fix),
            )
        })
        .collect();
    format!("<div class=\"findings\">{items}</div>\n")
}

/// The request as sent and the response, open for a failed step.
fn exchange(step: &StepReport) -> String {
    if step.request.is_none() && step.response.is_none() {
        return String::new();
    }
    let request = step.request.as_ref().map(request_block).unwrap_or_default();
    let response = match &step.response {
        Some(res) => response_block(res),
        None => "<h4>Response</h4><p class=\"step-note\">No response.</p>".to_string(),
    };
    format!(
        "<details class=\"exchange\"{open}><summary>Request and response</summary>\n\
         <div class=\"http\">{request}{response}</div>\n</details>\n",
        open = if step.verdict == StepVerdict::Failed {
            " open"
        } else {
            ""
        },
    )
}

fn request_block(req: &RequestReport) -> String {
    let start = format!("{} {}", req.method, req.url);
    format!(
        "<h4>Request <span class=\"sub\">{}</span></h4><pre class=\"http-text\">{}</pre>",
        body_size(req.body_bytes),
        http_text(&start, &req.headers, &req.body)
    )
}

fn response_block(res: &ResponseReport) -> String {
    let start = format!("HTTP {}", res.status);
    format!(
        "<h4>Response <span class=\"sub\"><span class=\"{}\">{}</span> · {} · {}</span></h4>\
         <pre class=\"http-text\">{}</pre>",
        status_class(res.status),
        res.status,
        duration(res.elapsed_ms),
        body_size(res.body_bytes),
        http_text(&start, &res.headers, &res.body)
    )
}

/// A message as HTTP text (start line, headers, blank line, body), escaped, long bodies cut.
fn http_text(start: &str, headers: &[Header], body: &str) -> String {
    let mut text = format!("<b>{}</b>\n", escape(start));
    for header in headers {
        text.push_str(&format!(
            "<span class=\"hn\">{}:</span> {}\n",
            escape(&header.name),
            escape(&header.value)
        ));
    }
    if !body.is_empty() {
        text.push('\n');
        text.push_str(&escape(cut(body, BODY_LIMIT)));
        if body.len() > BODY_LIMIT {
            text.push_str(&format!(
                "\n<span class=\"cut\">… {} more bytes in report.json</span>",
                body.len() - cut(body, BODY_LIMIT).len()
            ));
        }
    }
    text
}

/// The longest prefix of `text` of at most `limit` bytes that ends on a character boundary.
fn cut(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn body_size(bytes: usize) -> String {
    match bytes {
        0 => "no body".to_string(),
        n => plural(n, "byte"),
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn environments_section(environments: &[EnvironmentReport]) -> String {
    let body: String = environments.iter().map(environment_block).collect();
    let body = if body.is_empty() {
        "<p class=\"none\">No environment was opened.</p>\n".to_string()
    } else {
        body
    };
    format!(
        "<section id=\"environments\">\n<h2>Environments and certificates</h2>\n\
         <p class=\"hint\">The certificates each environment presented or signed with, as of the run's start.</p>\n\
         {body}</section>\n"
    )
}

fn environment_block(env: &EnvironmentReport) -> String {
    format!(
        "<div class=\"environment\">\n<h3>{name} <span class=\"kind\">{kind}</span></h3>\n\
         <dl class=\"facts\"><div><dt>API</dt><dd><code>{api}</code></dd></div>\
         <div><dt>File</dt><dd><code>{file}</code></dd></div></dl>\n{certs}</div>\n",
        name = escape(&env.name),
        kind = escape(&env.kind),
        api = escape(&env.api),
        file = escape(&env.file),
        certs = certificates_table(&env.certificates),
    )
}

fn certificates_table(certs: &[CertificateReport]) -> String {
    if certs.is_empty() {
        return "<p class=\"none\">No client certificate.</p>\n".to_string();
    }
    let rows: String = certs.iter().map(certificate_rows).collect();
    format!(
        "<table class=\"certs\">\n<thead><tr><th scope=\"col\">Role</th><th scope=\"col\">Subject</th>\
         <th scope=\"col\">Serial</th><th scope=\"col\">Valid</th><th scope=\"col\" class=\"num\">Days left</th>\
         </tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n"
    )
}

fn certificate_rows(cert: &CertificateReport) -> String {
    let class = expiry_class(cert.days_left);
    let mut rows = format!(
        "<tr class=\"cert {class}\"><th scope=\"row\"><code>{role}</code></th>\
         <td><span class=\"subject\">{subject}</span><span class=\"detail\">issuer {issuer}</span>\
         <span class=\"detail\">{key_type} · <code>{file}</code></span></td>\
         <td class=\"serial\"><code>{serial}</code></td>\
         <td class=\"validity\">{from}<br>to {to}</td>\
         <td class=\"num\"><span class=\"days {class}\" data-days-left=\"{days}\">{days_text}</span></td></tr>\n",
        role = escape(&cert.role),
        subject = escape(&cert.subject),
        issuer = escape(&cert.issuer),
        key_type = escape(&cert.key_type),
        file = escape(&cert.file),
        serial = escape(&cert.serial_hex),
        from = escape(&timestamp(&cert.not_before)),
        to = escape(&timestamp(&cert.not_after)),
        days = cert.days_left,
        days_text = days_left(cert.days_left),
    );
    if !cert.warnings.is_empty() {
        let items: String = cert
            .warnings
            .iter()
            .map(|w| format!("<li><span aria-hidden=\"true\">⚠</span> {}</li>", escape(w)))
            .collect();
        rows.push_str(&format!(
            "<tr class=\"cert-warnings\"><td></td><td colspan=\"4\"><ul>{items}</ul></td></tr>\n"
        ));
    }
    rows
}

fn expiry_class(days_left: i64) -> &'static str {
    if days_left < 0 {
        "expired"
    } else if days_left < EXPIRY_WARNING_DAYS {
        "expiring"
    } else {
        "valid"
    }
}

fn days_left(days: i64) -> String {
    match days {
        d if d < -1 => format!("expired {} days ago", -d),
        -1 => "expired yesterday".to_string(),
        1 => "1 day".to_string(),
        d => format!("{d} days"),
    }
}

fn skipped_section(skipped: &[SkippedScenario]) -> String {
    let body = if skipped.is_empty() {
        "<p class=\"none\">None: every selected scenario ran.</p>\n".to_string()
    } else {
        let rows: String = skipped
            .iter()
            .map(|s| {
                format!(
                    "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td></tr>\n",
                    escape(&s.test_name),
                    escape(&s.reason)
                )
            })
            .collect();
        format!(
            "<table class=\"skipped\">\n<thead><tr><th scope=\"col\">Scenario</th>\
             <th scope=\"col\">Why it did not run</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n"
        )
    };
    format!("<section id=\"skipped\">\n<h2>Skipped scenarios</h2>\n{body}</section>\n")
}

fn footer(report: &RunReport) -> String {
    format!(
        "<footer>Made by {tool} · report format {format} · secrets redacted · \
         report.json beside this page holds the same data.</footer>\n",
        tool = escape(&report.tool),
        format = report.format,
    )
}

/// One unique fragment id per scenario, readable in a URL: `ing-psd2--01-register-application`.
fn anchors(scenarios: &[ScenarioReport]) -> Vec<String> {
    let mut taken = HashSet::new();
    scenarios
        .iter()
        .map(|s| {
            let base = slug(&s.test_name);
            let mut anchor = base.clone();
            let mut n = 2;
            while !taken.insert(anchor.clone()) {
                anchor = format!("{base}-{n}");
                n += 1;
            }
            anchor
        })
        .collect()
}

fn slug(text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("s-{slug}")
}

fn scenario_class(scenario: &ScenarioReport) -> &'static str {
    if scenario.passed { "passed" } else { "failed" }
}

fn verdict_class(verdict: StepVerdict) -> &'static str {
    match verdict {
        StepVerdict::Passed => "passed",
        StepVerdict::Failed => "failed",
        StepVerdict::Skipped => "skipped",
        StepVerdict::NotApplicable => "na",
    }
}

/// A symbol per verdict, so the grid reads without colour.
fn verdict_mark(verdict: StepVerdict) -> &'static str {
    match verdict {
        StepVerdict::Passed => "✓",
        StepVerdict::Failed => "✗",
        StepVerdict::Skipped => "–",
        StepVerdict::NotApplicable => "∅",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=399 => "status-ok",
        _ => "status-error",
    }
}

/// `1.234 s`, `12 ms`, `2 min 3.4 s`.
fn duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.2} s", ms as f64 / 1000.0),
        _ => format!("{} min {:.1} s", ms / 60_000, (ms % 60_000) as f64 / 1000.0),
    }
}

/// An RFC 3339 time as `2025-03-01 10:15:02 UTC`; anything else as given.
fn timestamp(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::failure::FailureKind;
    use crate::report::model::{FORMAT, FailureReport, Partition};

    const EVIL: &str = "<script>alert(1)</script>\"'&";

    fn header(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    fn step(number: usize, name: &str, verdict: StepVerdict) -> StepReport {
        let ran = matches!(verdict, StepVerdict::Passed | StepVerdict::Failed);
        StepReport {
            warnings: Vec::new(),
            notes: Vec::new(),
            number,
            name: name.into(),
            verdict,
            elapsed_ms: if ran { 12 } else { 0 },
            failures: vec![],
            findings: vec![],
            attempts: usize::from(ran),
            request: ran.then(|| RequestReport {
                method: "POST".into(),
                url: "https://api.sandbox.ing.com/oauth2/token".into(),
                headers: vec![header("Accept", "application/json")],
                body: "grant_type=client_credentials".into(),
                body_bytes: 29,
            }),
            response: ran.then(|| ResponseReport {
                status: 200,
                headers: vec![header("Content-Type", "application/json")],
                body: "{\"token_type\": \"Bearer\"}".into(),
                body_bytes: 24,
                elapsed_ms: 11,
            }),
        }
    }

    fn scenario(order: usize, test_name: &str, steps: Vec<StepReport>) -> ScenarioReport {
        let system = system_of(test_name).to_string();
        ScenarioReport {
            order,
            test_name: test_name.into(),
            system,
            title: format!("Title of {test_name}"),
            file: format!("scenarios/{test_name}.yaml"),
            environment: "embedded".into(),
            passed: steps.iter().all(|s| s.verdict != StepVerdict::Failed),
            elapsed_ms: 1234,
            steps,
        }
    }

    fn certificate(role: &str, days_left: i64, warnings: Vec<String>) -> CertificateReport {
        CertificateReport {
            role: role.into(),
            file: format!("certs/example_client_{role}.cer"),
            subject: "CN=example_client_tls, O=ING".into(),
            issuer: "CN=obconform test CA".into(),
            serial_hex: "5E4B2A".into(),
            not_before: "2025-01-01T00:00:00Z".into(),
            not_after: "2026-01-01T00:00:00Z".into(),
            days_left,
            key_type: "RSA 2048".into(),
            warnings,
        }
    }

    /// Two systems, every verdict, a finding, planted markup in every kind of text.
    fn report() -> RunReport {
        let mut failed = step(2, &format!("evil step {EVIL}"), StepVerdict::Failed);
        failed.failures = vec![FailureReport::new(
            FailureKind::Status,
            format!("status: expected 200, got 401 {EVIL}"),
        )];
        failed.findings = vec![FindingReport {
            id: "httpsig.keyid-form".into(),
            what: format!("keyId is not SN=… {EVIL}"),
            fix: format!("use the serial in hex {EVIL}"),
        }];
        if let Some(res) = failed.response.as_mut() {
            res.status = 401;
            res.body = format!("{{\"message\": \"{EVIL}\"}}");
        }
        if let Some(req) = failed.request.as_mut() {
            req.body = EVIL.into();
            req.headers.push(header("X-Evil", EVIL));
        }
        let mut na = step(3, "consent page", StepVerdict::NotApplicable);
        na.failures = vec![FailureReport::new(
            FailureKind::NotApplicable,
            "skip_on: production",
        )];
        let mut report = RunReport {
            coverage: Vec::new(),
            format: FORMAT,
            tool: "obconform 0.1.0".into(),
            started_at: "2025-03-01T10:15:02.123Z".into(),
            finished_at: "2025-03-01T10:15:09Z".into(),
            duration_ms: 6877,
            partitions: vec![Partition { index: 2, count: 3 }],
            environments: vec![EnvironmentReport {
                name: "embedded".into(),
                kind: "embedded".into(),
                api: "https://127.0.0.1:4443".into(),
                file: "scenarios/environments.yaml".into(),
                certificates: vec![
                    certificate("tls", 364, vec![]),
                    certificate("signing", 12, vec![format!("cert.expiring-soon: {EVIL}")]),
                    certificate("new_tls", -3, vec![]),
                ],
            }],
            scenarios: vec![
                scenario(
                    0,
                    "ing-psd2::02-application-metadata",
                    vec![
                        step(1, "mTLS-only token", StepVerdict::Passed),
                        step(2, "metadata", StepVerdict::Passed),
                    ],
                ),
                scenario(
                    1,
                    "ing-psd2::04-granting",
                    vec![
                        step(1, "token", StepVerdict::Passed),
                        failed,
                        na,
                        step(4, "code exchange", StepVerdict::Skipped),
                    ],
                ),
                scenario(
                    2,
                    "partner-api::01-token-and-ping",
                    vec![step(1, "token", StepVerdict::Passed)],
                ),
            ],
            skipped: vec![SkippedScenario {
                test_name: "ing-psd2::renewal-01".into(),
                reason: format!("requires_certs new_tls {EVIL}"),
            }],
            summary: Summary::default(),
        };
        report.finish();
        report
    }

    /// The value of every `name="…"` attribute, in order.
    fn attribute_values<'a>(page: &'a str, name: &str) -> Vec<&'a str> {
        let needle = format!("{name}=\"");
        page.match_indices(&needle)
            .map(|(i, _)| {
                let rest = &page[i + needle.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect()
    }

    #[test]
    fn every_text_is_escaped() {
        let page = render(&report());
        assert!(
            !page.contains("<script"),
            "markup planted in texts got through"
        );
        assert!(!page.contains("alert(1)</"));
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;";
        // Step name (section and grid title), failure, finding what and fix, request body and
        // header, response body, certificate warning, skipped reason.
        assert!(page.matches(escaped).count() >= 10, "{page}");
        assert!(!page.contains("\"'&"));
    }

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain ✓ text"), "plain ✓ text");
    }

    #[test]
    fn counts_are_rendered_with_their_summary_names() {
        let report = report();
        let page = render(&report);
        let s = report.summary;
        for (hook, n) in [
            ("scenarios_passed", s.scenarios_passed),
            ("scenarios_failed", s.scenarios_failed),
            ("scenarios_skipped", s.scenarios_skipped),
            ("steps_passed", s.steps_passed),
            ("steps_failed", s.steps_failed),
            ("steps_skipped", s.steps_skipped),
            ("steps_not_applicable", s.steps_not_applicable),
        ] {
            let element = format!("data-count=\"{hook}\">{n}<");
            assert_eq!(page.matches(&element).count(), 1, "{element}");
        }
        assert_eq!(
            (s.scenarios_passed, s.scenarios_failed, s.scenarios_skipped),
            (2, 1, 1)
        );
        assert_eq!(
            (
                s.steps_passed,
                s.steps_failed,
                s.steps_skipped,
                s.steps_not_applicable
            ),
            (4, 1, 1, 1)
        );
    }

    #[test]
    fn the_verdict_is_in_the_header_and_failed_scenarios_are_open() {
        let mut report = report();
        let page = render(&report);
        assert!(page.contains("<h1 class=\"verdict\" data-verdict=\"failed\">FAILED</h1>"));
        assert!(
            page.contains(
                "<details class=\"scenario failed\" id=\"s-ing-psd2--04-granting\" open>"
            )
        );
        assert!(page.contains(
            "<details class=\"scenario passed\" id=\"s-ing-psd2--02-application-metadata\">"
        ));
        assert!(page.contains("2/3"), "the partition is shown");
        report.scenarios.remove(1);
        report.finish();
        assert!(render(&report).contains(">PASSED</h1>"));
    }

    #[test]
    fn the_grid_has_one_cell_per_step_linked_to_it() {
        let report = report();
        let page = render(&report);
        let steps: Vec<&StepReport> = report.scenarios.iter().flat_map(|s| &s.steps).collect();
        let cells = attribute_values(&page, "data-cell");
        assert_eq!(cells.len(), steps.len());
        let verdicts: Vec<&str> = steps.iter().map(|s| s.verdict.word()).collect();
        assert_eq!(cells, verdicts);
        assert!(page.contains(
            "href=\"#s-ing-psd2--04-granting-step-3\" title=\"3. consent page — not applicable\">∅</a>"
        ));
        assert!(page.contains("id=\"s-ing-psd2--04-granting-step-3\""));
        // One group per system, in order of appearance.
        let ing = page.find("<tbody class=\"system failed\">").unwrap();
        let partner = page.find("<tbody class=\"system passed\">").unwrap();
        assert!(ing < partner);
    }

    #[test]
    fn every_link_stays_on_the_page() {
        let page = render(&report());
        for attribute in ["href", "src", "action", "srcset", "poster", "data"] {
            for value in attribute_values(&page, attribute) {
                assert!(
                    value.starts_with('#'),
                    "{attribute}=\"{value}\" leaves the page"
                );
            }
        }
        // The style sheet needs no url(): so none can point off the page.
        assert!(!page.contains("url("));
        assert!(!page.contains("@import"));
        assert!(!page.contains("<link"));
        // The step URLs are there, as text.
        assert!(page.contains("POST https://api.sandbox.ing.com/oauth2/token"));
    }

    #[test]
    fn the_page_is_well_formed_enough() {
        let page = render(&report());
        assert!(page.starts_with("<!DOCTYPE html>"));
        for tag in [
            "html", "head", "body", "main", "header", "nav", "section", "details", "summary",
            "table", "thead", "tbody", "tr", "pre", "article", "dl", "ul", "style", "footer",
        ] {
            let opened = page.matches(&format!("<{tag}>")).count()
                + page.matches(&format!("<{tag} ")).count();
            let closed = page.matches(&format!("</{tag}>")).count();
            assert_eq!(
                opened, closed,
                "<{tag}> opened {opened} times, closed {closed}"
            );
        }
        let ids = attribute_values(&page, "id");
        let unique: HashSet<&&str> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "ids are unique");
        for target in attribute_values(&page, "href") {
            assert!(
                ids.contains(&&target[1..]),
                "#{} points nowhere",
                &target[1..]
            );
        }
    }

    #[test]
    fn certificates_show_expiry_and_warnings() {
        let page = render(&report());
        assert!(page.contains("class=\"days valid\" data-days-left=\"364\">364 days<"));
        assert!(page.contains("class=\"days expiring\" data-days-left=\"12\">12 days<"));
        assert!(page.contains("class=\"days expired\" data-days-left=\"-3\">expired 3 days ago<"));
        assert!(page.contains("cert.expiring-soon: &lt;script"));
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let mut report = report();
        let body = "é".repeat(BODY_LIMIT);
        report.scenarios[0].steps[0].response.as_mut().unwrap().body = body.clone();
        let page = render(&report);
        assert!(page.contains(&format!("… {} more bytes in report.json", body.len() / 2)));
        assert_eq!(cut("aé", 2), "a");
    }

    #[test]
    fn durations_and_times_read_naturally() {
        assert_eq!(duration(12), "12 ms");
        assert_eq!(duration(6877), "6.88 s");
        assert_eq!(duration(125_400), "2 min 5.4 s");
        assert_eq!(
            timestamp("2025-03-01T10:15:02.123Z"),
            "2025-03-01 10:15:02 UTC"
        );
        assert_eq!(timestamp("not a time"), "not a time");
    }
}
