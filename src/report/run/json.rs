//! The run report as pretty JSON (`run-report.json`), the form scripts
//! read; its fields are documented in docs/run-report.md.

use super::RunReport;

pub fn render_json(report: &RunReport) -> String {
    let mut out = serde_json::to_string_pretty(report)
        .expect("the run report holds only strings, numbers and lists");
    out.push('\n');
    out
}
