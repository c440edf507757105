//! The HTML reports in a real browser: the pre-flight report of a ready and
//! of a blocked lab plan, and the run report a full lab rollout keeps under
//! `runs/<run id>/` (which a no-op re-run leaves as it is), opened in
//! Debian's Chromium, headless. Each page must render (the DOM Chromium
//! built has the page's headings), reference nothing outside itself (no
//! `src`, no `href` but in-page anchors, no `url()`, no `<link>`,
//! `<script>`, `<img>` or `@import`), and print to a non-empty PDF.
//!
//! Ignored by default (it needs Chromium); `scripts/test` installs
//! Chromium when it can and runs it with `--ignored`, naming the binary in
//! `CU_ROLL_CHROMIUM`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Env, LabPlan};

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CU_ROLL_CHROMIUM") {
        return PathBuf::from(p);
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH")?
                .to_str()?
                .split(':')
                .map(|d| Path::new(d).join(name))
                .find(|p| p.is_file())
        })
        .expect("no Chromium: set CU_ROLL_CHROMIUM or install Debian's chromium")
}

/// Runs headless Chromium on `page` with `args` and a fresh profile; its
/// stdout. The flags keep it from reaching out on its own (updates, sync,
/// QUIC) so that any request would come from the page.
fn headless(page: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {args:?} failed on {}:\n{}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every reference out of the page in `html` (source or rendered DOM):
/// `src=`, an `href` that is not an in-page anchor, `url(`, and the
/// elements and rules that load something.
fn external_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    for needle in [
        "src=", "url(", "<link", "<script", "<img", "<iframe", "@import", "srcset",
    ] {
        if lower.contains(needle) {
            found.push(needle.to_string());
        }
    }
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("href=") {
        let value = rest[i + 5..].trim_start_matches(['"', '\'']);
        if !value.starts_with('#') {
            found.push(format!("href={}", &value[..value.len().min(40)]));
        }
        rest = &rest[i + 5..];
    }
    found
}

/// Renders `page`, checks the DOM and the file reference nothing outside,
/// and prints it; returns the PDF's page count.
fn check_page(page: &Path, headings: &[&str]) -> usize {
    let source = std::fs::read_to_string(page).expect("page");
    assert_eq!(
        external_references(&source),
        Vec::<String>::new(),
        "{}",
        page.display()
    );
    let dom = headless(page, &["--dump-dom"]);
    for h in headings {
        assert!(
            dom.contains(h),
            "{} did not render {h:?}:\n{dom}",
            page.display()
        );
    }
    assert_eq!(
        external_references(&dom),
        Vec::<String>::new(),
        "{}",
        page.display()
    );
    let pdf = page.with_extension("pdf");
    headless(
        page,
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
        ],
    );
    let bytes = std::fs::read(&pdf).expect("the PDF was written");
    assert!(
        bytes.starts_with(b"%PDF-"),
        "{} is not a PDF",
        pdf.display()
    );
    assert!(
        bytes.len() > 10_000,
        "{} is only {} bytes",
        pdf.display(),
        bytes.len()
    );
    let text = String::from_utf8_lossy(&bytes);
    let pages = text
        .match_indices("/Type /Page")
        .filter(|(i, _)| !text[i + 10..].starts_with('s'))
        .count();
    assert!(pages >= 1, "{} has no page", pdf.display());
    pages
}

/// The one directory under `runs/`, and its HTML report.
fn kept_run_report(state: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(state.join("runs"))
        .expect("runs/")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].join("run-report.html")
}

#[test]
#[ignore = "needs Chromium; scripts/test installs it and runs this with --ignored"]
fn the_html_reports_render_reference_nothing_outside_and_print() {
    let env = Env::new();
    let ready = LabPlan::new().fast().write(&env, "lab.toml");
    let blocked = LabPlan::from_plans("lab-blocked.toml").write(&env, "lab-blocked.toml");
    let pre = env.path().join("pre-flight.html");
    let pre_blocked = env.path().join("pre-flight-blocked.html");
    let r = ready.to_str().unwrap();
    env.run(&[
        "report",
        r,
        "--format",
        "html",
        "--output",
        pre.to_str().unwrap(),
    ])
    .expect_code(0);
    env.run_with_state(
        &env.path().join("blocked-state"),
        &[
            "report",
            blocked.to_str().unwrap(),
            "--format",
            "html",
            "--output",
            pre_blocked.to_str().unwrap(),
        ],
    )
    .expect_code(3);

    env.run(&["run", r, "--yes"]).expect_code(0);
    let run_report = kept_run_report(&env.state_dir());
    let kept = std::fs::read(&run_report).expect("the run's HTML report is kept");
    // A re-run with nothing to do leaves the night's report as it is.
    env.run(&["run", r, "--yes"]).expect_code(0);
    assert_eq!(kept_run_report(&env.state_dir()), run_report);
    assert_eq!(std::fs::read(&run_report).unwrap(), kept);

    let started = Instant::now();
    let pages = check_page(
        &pre,
        &[
            "<h1>cu-roll pre-flight report",
            "<h2>What will happen</h2>",
            "<h3>Impact: active databases that move</h3>",
            "<h3>Backup and rollback</h3>",
        ],
    );
    assert!(
        pages >= 2,
        "the ready pre-flight report printed on {pages} page(s)"
    );
    check_page(
        &pre_blocked,
        &[
            "Overall verdict: <strong>blocked</strong>",
            "<th>Why</th>",
            ".NET Framework does not meet",
        ],
    );
    check_page(
        &run_report,
        &[
            "<h1>cu-roll run report",
            r#"<p class="overall ready">Outcome: <strong>done</strong>"#,
            "<h2>Runs</h2>",
        ],
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "the browser checks took {took:?}"
    );
}
