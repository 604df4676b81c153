//! report.html (placeholder on main until the HTML report lands from its branch).

use super::model::RunReport;

pub fn render(report: &RunReport) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><title>obconform report</title><pre>{} scenarios</pre>",
        report.scenarios.len()
    )
}
