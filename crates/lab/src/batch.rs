//! cmd.exe as far as the lab needs it, as pure functions: `%VAR%`
//! expansion, splitting a line into its command and redirections (with
//! cmd's rule that a digit written right before `>` is a stream number),
//! what `echo` prints, and tasklist's output formats. The world decides
//! what the commands do; this file only reads command lines.

/// One redirection of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Stream number: 0 stdin, 1 stdout (the default for `>`), 2 stderr.
    pub handle: u8,
    pub path: String,
    pub append: bool,
}

/// A command line split into its command text and redirections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdLine {
    /// The command with its arguments, redirections removed. Parentheses
    /// of a `( … )` block are removed too.
    pub command: String,
    pub redirects: Vec<Redirect>,
}

/// Expands `%NAME%` with `lookup` (case-insensitive names); an unknown
/// variable stays as written, as cmd leaves it in a batch file line.
pub fn expand(line: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) if end > 0 => {
                let name = &after[..end];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('%');
                        out.push_str(name);
                        out.push('%');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Splits `line` (already expanded) into its command and redirections.
///
/// cmd reads a single digit written directly before `>` — and itself
/// preceded by a blank or the start of the line — as the stream to
/// redirect, not as text: `echo 0> "f"` redirects stdin and echoes
/// nothing, `echo 1> "f"` writes `ECHO is off.`. (Incode Systems'
/// redirection notes: "If the redirection symbol is immediately preceded
/// by a number, it is assumed to be a handle"; the well-known
/// `echo %ERRORLEVEL%>file` trap.) `(echo 0)> "f"` and `>"f" echo 0` avoid it.
pub fn split(line: &str) -> CmdLine {
    let chars: Vec<char> = line.chars().collect();
    let mut command = String::new();
    let mut redirects = Vec::new();
    let mut i = 0;
    let mut quoted = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            quoted = !quoted;
            command.push(c);
            i += 1;
            continue;
        }
        if c != '>' || quoted {
            command.push(c);
            i += 1;
            continue;
        }
        // A stream number: one digit right before '>', after a blank or at the start.
        let mut handle = 1u8;
        if let Some(d) = command.chars().last().and_then(|d| d.to_digit(10)) {
            let before = command.chars().rev().nth(1);
            if before.is_none_or(|b| b == ' ' || b == '\t' || b == '(' || b == ')') {
                handle = u8::try_from(d).unwrap_or(1);
                command.pop();
            }
        }
        i += 1;
        let append = chars.get(i) == Some(&'>');
        if append {
            i += 1;
        }
        // `2>&1`: a stream joined to another; nothing to write.
        if chars.get(i) == Some(&'&') {
            i += 1;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            continue;
        }
        while chars.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
            i += 1;
        }
        let mut path = String::new();
        let mut in_quotes = false;
        while let Some(&c) = chars.get(i) {
            if c == '"' {
                in_quotes = !in_quotes;
            } else if !in_quotes && (c == ' ' || c == '\t' || c == '>' || c == '<' || c == '&') {
                break;
            } else {
                path.push(c);
            }
            i += 1;
        }
        redirects.push(Redirect {
            handle,
            path,
            append,
        });
    }
    let trimmed = command.trim_start();
    let command = match trimmed.strip_prefix('(') {
        Some(inner) => match inner.rfind(')') {
            Some(close) => format!("{}{}", &inner[..close], &inner[close + 1..]),
            None => inner.to_string(),
        },
        None => trimmed.to_string(),
    };
    CmdLine { command, redirects }
}

/// The first token of a command (quotes removed) and the rest as written.
pub fn program_and_args(command: &str) -> (String, String) {
    let t = command.trim_start();
    if let Some(rest) = t.strip_prefix('"') {
        let end = rest.find('"').unwrap_or(rest.len());
        let args = rest.get(end + 1..).unwrap_or("").trim().to_string();
        return (rest[..end].to_string(), args);
    }
    let (p, a) = t.split_once([' ', '\t']).unwrap_or((t, ""));
    (p.to_string(), a.trim().to_string())
}

/// Splits arguments at blanks, keeping quoted parts together (quotes removed).
pub fn arguments(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in args.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' | '\t' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            _ => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// What `echo <text>` writes to stdout (CRLF-terminated). With nothing to
/// echo, cmd prints the echo state — `ECHO is off.` after `@echo off`.
/// The text keeps its trailing blanks (`echo 0 > f` writes `0 `).
pub fn echo_output(command: &str) -> Option<String> {
    let t = command.trim_start();
    let lower = t.to_ascii_lowercase();
    if !lower.starts_with("echo") {
        return None;
    }
    let rest = &t[4..];
    if let Some(text) = rest.strip_prefix('.') {
        return Some(format!("{text}\r\n"));
    }
    let first = rest.chars().next()?;
    if first != ' ' && first != '\t' {
        return None;
    }
    let text = &rest[1..];
    if text.trim().is_empty() {
        return Some("ECHO is off.\r\n".to_string());
    }
    Some(format!("{text}\r\n"))
}

/// One row of tasklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRow {
    pub image: String,
    pub pid: u32,
    pub session_name: &'static str,
    pub session: u32,
    pub mem_kb: u64,
}

/// `123,456 K` as tasklist formats memory.
fn mem(kb: u64) -> String {
    let digits = kb.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out} K")
}

/// `findstr [/L] [/I] [/N] /C:"string"… <file>` over the file's `content`
/// (`None`: no such file): the lines holding any of the strings, each
/// ended with CRLF. Exit 0 when a line matched, 1 when none did or the
/// file cannot be opened (Microsoft Learn, "findstr"; the exit codes
/// are UNVERIFIED). Literal strings only: the lab refuses `/R` and the
/// switches it does not know. `/N` prefixes each line with its number
/// and a colon.
pub fn findstr(args: &str, content: &dyn Fn(&str) -> Option<String>) -> (String, String, i32) {
    let mut strings = Vec::new();
    let mut files = Vec::new();
    let mut ignore_case = false;
    let mut numbered = false;
    for a in arguments(args) {
        let lower = a.to_ascii_lowercase();
        if let Some(s) = a.get(3..).filter(|_| lower.starts_with("/c:")) {
            strings.push(s.to_string());
        } else if lower == "/i" {
            ignore_case = true;
        } else if lower == "/l" {
        } else if lower == "/n" {
            numbered = true;
        } else if a.starts_with('/') {
            let text = format!(
                "FINDSTR: {a} ignored: the lab answers findstr [/L] [/I] /C:string… file only\r\n"
            );
            return (String::new(), text, 2);
        } else {
            files.push(a);
        }
    }
    let [file] = files.as_slice() else {
        return (String::new(), "FINDSTR: Bad command line\r\n".into(), 2);
    };
    let Some(text) = content(file) else {
        return (String::new(), format!("FINDSTR: Cannot open {file}\r\n"), 1);
    };
    let fold = |s: &str| {
        if ignore_case {
            s.to_ascii_lowercase()
        } else {
            s.to_string()
        }
    };
    let wanted: Vec<String> = strings.iter().map(|s| fold(s)).collect();
    let out: String = text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .filter(|(_, l)| {
            let l = fold(l);
            wanted.iter().any(|w| l.contains(w.as_str()))
        })
        .map(|(n, l)| {
            if numbered {
                format!("{}:{l}\r\n", n + 1)
            } else {
                format!("{l}\r\n")
            }
        })
        .collect();
    let code = i32::from(out.is_empty());
    (out, String::new(), code)
}

/// `find /C /V "" <file>`: how many lines the file has, as find prints
/// it (`---------- <PATH>: N`, the path upper-cased; Microsoft Learn,
/// "find": `/C` counts the lines, `/V ""` matches every line). The lab
/// answers that form only.
pub fn find_count(args: &str, content: &dyn Fn(&str) -> Option<String>) -> (String, String, i32) {
    let words = arguments(args);
    let has = |flag: &str| words.iter().any(|a| a.eq_ignore_ascii_case(flag));
    let files: Vec<&String> = words
        .iter()
        .filter(|a| !a.starts_with('/') && !a.is_empty())
        .collect();
    let out =
        |stdout: String, stderr: &str, exit_code: i32| (stdout, stderr.to_string(), exit_code);
    let (true, true, [file]) = (has("/C"), has("/V"), files.as_slice()) else {
        return out(
            String::new(),
            "FIND: the lab answers find /C /V \"\" <file> only\r\n",
            2,
        );
    };
    match content(file) {
        Some(text) => out(
            format!(
                "\r\n---------- {}: {}\r\n",
                file.to_ascii_uppercase(),
                text.lines().count()
            ),
            "",
            0,
        ),
        None => out(
            String::new(),
            &format!("File not found - {}\r\n", file.to_ascii_uppercase()),
            1,
        ),
    }
}

/// tasklist's options that the lab reads.
struct TasklistArgs {
    /// `/FO TABLE|CSV|LIST`, upper-cased (checked when rows are printed).
    format: String,
    /// `/NH`.
    no_header: bool,
    /// `/FI "IMAGENAME eq x"`.
    image_filter: Option<String>,
}

/// tasklist's options that the lab reads: `/FI "IMAGENAME eq x"`, `/FO
/// TABLE|CSV|LIST`, `/NH`. Returns stdout (exit code is always 0).
pub fn tasklist(args: &str, rows: &[ProcessRow]) -> Result<String, String> {
    let TasklistArgs {
        format,
        no_header,
        image_filter,
    } = tasklist_args(args)?;
    let shown: Vec<&ProcessRow> = rows
        .iter()
        .filter(|r| {
            image_filter
                .as_ref()
                .is_none_or(|f| super::cmdlets::wildcard(f, &r.image))
        })
        .collect();
    if shown.is_empty() {
        // Printed on stdout; tasklist still exits 0.
        return Ok(
            "INFO: No tasks are running which match the specified criteria.\r\n".to_string(),
        );
    }
    render_tasklist(&format, no_header, &shown)
}

/// Reads tasklist's command line; `Err` is the text tasklist prints.
fn tasklist_args(args: &str) -> Result<TasklistArgs, String> {
    let argv = arguments(args);
    let mut format = "TABLE".to_string();
    let mut no_header = false;
    let mut image_filter: Option<String> = None;
    let mut i = 0;
    while i < argv.len() {
        match argv[i].to_ascii_uppercase().as_str() {
            "/FO" => {
                format = argv
                    .get(i + 1)
                    .cloned()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                i += 1;
            }
            "/NH" => no_header = true,
            "/FI" => {
                let f = argv.get(i + 1).cloned().unwrap_or_default();
                let parts: Vec<&str> = f.split_whitespace().collect();
                match parts.as_slice() {
                    [field, op, value]
                        if field.eq_ignore_ascii_case("IMAGENAME")
                            && op.eq_ignore_ascii_case("eq") =>
                    {
                        image_filter = Some((*value).to_string());
                    }
                    _ => {
                        return Err("ERROR: The search filter cannot be recognized.\r\n".to_string())
                    }
                }
                i += 1;
            }
            other => {
                return Err(format!(
                    "ERROR: Invalid argument/option - '{}'.\r\nType \"TASKLIST /?\" for usage.\r\n",
                    if other.is_empty() {
                        ""
                    } else {
                        argv[i].as_str()
                    }
                ))
            }
        }
        i += 1;
    }
    Ok(TasklistArgs {
        format,
        no_header,
        image_filter,
    })
}

/// The `shown` rows in `format` (`TABLE`, `CSV` or `LIST`).
fn render_tasklist(format: &str, no_header: bool, shown: &[&ProcessRow]) -> Result<String, String> {
    let mut out = String::new();
    match format {
        "CSV" => {
            if !no_header {
                out.push_str(
                    "\"Image Name\",\"PID\",\"Session Name\",\"Session#\",\"Mem Usage\"\r\n",
                );
            }
            for r in shown {
                out.push_str(&format!(
                    "\"{}\",\"{}\",\"{}\",\"{}\",\"{}\"\r\n",
                    r.image,
                    r.pid,
                    r.session_name,
                    r.session,
                    mem(r.mem_kb)
                ));
            }
        }
        "LIST" => {
            for r in shown {
                out.push_str(&format!(
                    "\r\nImage Name:   {}\r\nPID:          {}\r\nSession Name: {}\r\nSession#:     {}\r\nMem Usage:    {}\r\n",
                    r.image,
                    r.pid,
                    r.session_name,
                    r.session,
                    mem(r.mem_kb)
                ));
            }
        }
        "TABLE" => {
            if !no_header {
                out.push_str("\r\nImage Name                     PID Session Name        Session#    Mem Usage\r\n");
                out.push_str("========================= ======== ================ =========== ============\r\n");
            }
            for r in shown {
                let image: String = r.image.chars().take(25).collect();
                out.push_str(&format!(
                    "{image:<25} {:>8} {:<16} {:>11} {:>12}\r\n",
                    r.pid,
                    r.session_name,
                    r.session,
                    mem(r.mem_kb)
                ));
            }
        }
        _ => {
            return Err(
                "ERROR: Invalid argument/option - '/FO'.\r\nType \"TASKLIST /?\" for usage.\r\n"
                    .to_string(),
            )
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digit_before_the_redirect_is_a_stream_number() {
        let l = split(r#"echo 0> "C:\cu-roll\setup.exit""#);
        assert_eq!(l.command.trim_end(), "echo");
        assert_eq!(l.redirects[0].handle, 0);
        assert_eq!(l.redirects[0].path, r"C:\cu-roll\setup.exit");
        let l = split(r#"echo 3010> "x""#);
        assert_eq!(l.command, "echo 3010");
        assert_eq!(l.redirects[0].handle, 1);
        let l = split(r#"(echo 0)> "x""#);
        assert_eq!(l.command, "echo 0");
        assert_eq!(l.redirects[0].handle, 1);
        let l = split(r#">"x" echo 0"#);
        assert_eq!(l.command.trim(), "echo 0");
        let l = split(r#""D:\Setup.exe" /m:upgrade > "C:\o.txt" 2>&1"#);
        assert_eq!(l.redirects.len(), 1);
        assert_eq!(l.command.trim(), r#""D:\Setup.exe" /m:upgrade"#);
    }

    #[test]
    fn echo_prints_its_state_when_empty() {
        assert_eq!(echo_output("echo ").as_deref(), Some("ECHO is off.\r\n"));
        assert_eq!(echo_output("echo 0 ").as_deref(), Some("0 \r\n"));
        assert_eq!(echo_output("echo."), Some("\r\n".to_string()));
        assert_eq!(echo_output("echoes"), None);
    }

    #[test]
    fn percent_variables_expand() {
        let look = |n: &str| (n.eq_ignore_ascii_case("systemdrive")).then(|| "C:".to_string());
        assert_eq!(
            expand(r"type %SystemDrive%\x %nope%", &look),
            r"type C:\x %nope%"
        );
    }

    #[test]
    fn findstr_prints_the_lines_holding_any_literal_string() {
        let log = "[1] Starting Microsoft Exchange Server 2019 Setup\r\n[2] other\r\n[3] Setup will run the task 'X'\r\n";
        let read = |p: &str| (p == r"C:\l.log").then(|| log.to_string());
        let (out, _, code) = findstr(
            r#"/L /I /C:"starting microsoft" /C:"will run the task" "C:\l.log""#,
            &read,
        );
        assert_eq!(code, 0);
        assert_eq!(out, "[1] Starting Microsoft Exchange Server 2019 Setup\r\n[3] Setup will run the task 'X'\r\n");
        // Case-sensitive without /I; no match is exit 1.
        assert_eq!(findstr(r#"/C:"starting microsoft" C:\l.log"#, &read).2, 1);
        assert_eq!(findstr(r#"/C:"x" C:\nope.log"#, &read).2, 1);
        assert_eq!(findstr(r#"/R /C:"x" C:\l.log"#, &read).2, 2);
    }

    #[test]
    fn tasklist_csv_and_no_match() {
        let rows = [ProcessRow {
            image: "ExSetup.exe".into(),
            pid: 5124,
            session_name: "Services",
            session: 0,
            mem_kb: 183_204,
        }];
        let out = tasklist(r#"/FI "IMAGENAME eq ExSetup.exe" /FO CSV /NH"#, &rows).unwrap();
        assert_eq!(
            out,
            "\"ExSetup.exe\",\"5124\",\"Services\",\"0\",\"183,204 K\"\r\n"
        );
        let none = tasklist(r#"/FI "IMAGENAME eq ExSetup.exe" /FO CSV /NH"#, &[]).unwrap();
        assert_eq!(
            none,
            "INFO: No tasks are running which match the specified criteria.\r\n"
        );
    }
}
