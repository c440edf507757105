//! A step's failure text, as the run prints it once at its end: on
//! several lines, one sentence a line, and each undo command on its own
//! line so it can be copied. The steps write one paragraph (the journal
//! and the run report keep it so); this module only lays it out, and
//! shortens it to a headline for the live display.

/// What comes before the undo commands in a step's failure text
/// (`runbook::steps::undo`).
const UNDO_MARK: &str = "undo by hand (";

/// The failure text laid out on lines, each indented by `indent`.
pub fn failure_block(text: &str, indent: &str) -> String {
    let (prose, undo) = split_undo(text);
    let mut out = String::new();
    for sentence in sentences(prose) {
        out.push_str(indent);
        out.push_str(sentence);
        out.push('\n');
    }
    if let Some((lead, commands)) = undo {
        if !lead.is_empty() {
            out.push_str(indent);
            out.push_str(lead);
            out.push('\n');
        }
        for c in commands {
            out.push_str(indent);
            out.push_str("  ");
            out.push_str(c);
            out.push('\n');
        }
    }
    out
}

/// The first clause of the failure text (up to its first `;` or sentence
/// end), at most `max` characters: what the live display shows.
pub fn headline(text: &str, max: usize) -> String {
    let end = [text.find("; "), text.find(". ")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(text.len());
    let head = text[..end].trim_end_matches('.');
    if head.chars().count() <= max {
        head.to_string()
    } else {
        let cut: String = head.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// Splits off the undo commands: the prose before the sentence that
/// offers them, that sentence's lead (up to its colon), and the commands.
fn split_undo(text: &str) -> (&str, Option<(&str, Vec<&str>)>) {
    let Some(mark) = text.find(UNDO_MARK) else {
        return (text, None);
    };
    let Some(colon) = text[mark..].find("): ").map(|i| mark + i + 2) else {
        return (text, None);
    };
    // The lead starts where its sentence does.
    let start = text[..mark].rfind(". ").map_or(0, |i| i + 2);
    let commands = text[colon + 1..]
        .split("; ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    (
        text[..start].trim_end(),
        Some((text[start..colon].trim(), commands)),
    )
}

/// Sentences: split after `. ` when the next one starts with a capital
/// letter, `%` (a path) or `cu-roll ` (a version such as 15.2.1748 or a
/// file name keeps its dots: no space follows them).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(off) = text[i..].find(". ") {
        let at = i + off;
        let next = bytes.get(at + 2).copied().unwrap_or(b' ');
        if next.is_ascii_uppercase() || next == b'%' || text[at + 2..].starts_with("cu-roll ") {
            out.push(text[start..=at].trim());
            start = at + 2;
        }
        i = at + 2;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "setup failed on EX03: setup exited with code 1; the role keys say setup did not finish. A failed setup leaves Exchange services Disabled. cu-roll left on EX03: cluster node Paused, activation policy Blocked. Run cu-roll again to continue, or undo by hand (in the Exchange Management Shell on EX03): Resume-ClusterNode -Name EX03; Set-MailboxServer -Identity EX03 -DatabaseCopyAutoActivationPolicy Unrestricted";

    #[test]
    fn each_sentence_and_each_undo_command_gets_its_own_line() {
        assert_eq!(
            failure_block(TEXT, "  "),
            "  setup failed on EX03: setup exited with code 1; the role keys say setup did not finish.\n\
             \x20 A failed setup leaves Exchange services Disabled.\n\
             \x20 cu-roll left on EX03: cluster node Paused, activation policy Blocked.\n\
             \x20 Run cu-roll again to continue, or undo by hand (in the Exchange Management Shell on EX03):\n\
             \x20   Resume-ClusterNode -Name EX03\n\
             \x20   Set-MailboxServer -Identity EX03 -DatabaseCopyAutoActivationPolicy Unrestricted\n"
        );
    }

    #[test]
    fn the_headline_is_the_first_clause() {
        assert_eq!(
            headline(TEXT, 200),
            "setup failed on EX03: setup exited with code 1"
        );
        assert_eq!(headline("short", 200), "short");
        assert_eq!(headline("abcdef", 3), "abc…");
    }

    #[test]
    fn text_without_undo_commands_is_only_split_into_sentences() {
        assert_eq!(
            failure_block("the gate refused. Nothing was changed", ""),
            "the gate refused.\nNothing was changed\n"
        );
    }
}
