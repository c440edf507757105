//! The docs and the code agree where a reader acts on the docs (issue 12,
//! review operator-experience.md §5): every exit code `--help` lists has
//! its row in docs/troubleshooting.md and its place in the README, and
//! docs/messages.md gives each of the review's 24 messages and 26 table
//! rows a status (fixed, kept or open), none left unsaid.

use crate::harness::repo;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The codes of `--help`'s exit code table (`  0  done …`).
fn help_codes() -> Vec<String> {
    cu_roll::exit::HELP
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| c.parse::<u8>().is_ok())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_exit_code_of_help_is_in_troubleshooting_and_the_readme() {
    let codes = help_codes();
    assert_eq!(codes.len(), 9, "{codes:?}");
    let troubleshooting = read("docs/troubleshooting.md");
    let readme = read("README.md");
    let exit_paragraph = &readme[readme.find("Exit codes:").expect("README: Exit codes")..];
    for code in &codes {
        assert!(
            troubleshooting.contains(&format!("\n| {code} |")),
            "docs/troubleshooting.md has no row for exit {code}"
        );
        assert!(
            exit_paragraph.contains(&format!("`{code}`")),
            "README's exit codes lack {code}"
        );
    }
    assert!(
        !troubleshooting.contains("not built yet"),
        "troubleshooting.md still says an exit code is not built yet"
    );
}

/// The status column of a `| # | … | status |` table, per row number.
fn statuses(section: &str) -> Vec<(u32, String)> {
    section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let n = cells.get(1)?.parse().ok()?;
            Some((n, cells.get(cells.len().checked_sub(2)?)?.to_string()))
        })
        .collect()
}

#[test]
fn docs_messages_gives_every_message_and_row_a_status() {
    let doc = read("docs/messages.md");
    let messages = &doc
        [doc.find("## The 24 messages").unwrap()..doc.find("## The expectation table").unwrap()];
    let table = &doc[doc.find("## The expectation table").unwrap()
        ..doc.find("## Docs against behaviour").unwrap()];
    for (section, count) in [(messages, 24), (table, 26)] {
        let rows = statuses(section);
        let numbers: Vec<u32> = rows.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, (1..=count).collect::<Vec<u32>>(), "{section}");
        for (n, status) in rows {
            assert!(
                ["**fixed**", "**kept**", "**open**", "nothing to fix"]
                    .iter()
                    .any(|s| status.contains(s)),
                "row {n} has no status: {status}"
            );
            assert!(!status.contains("**E**"), "row {n} is still 'E': {status}");
        }
    }
}

#[test]
fn no_color_is_documented() {
    for doc in ["README.md", "docs/report.md"] {
        assert!(
            read(doc).contains("NO_COLOR"),
            "{doc} does not mention NO_COLOR"
        );
    }
}
