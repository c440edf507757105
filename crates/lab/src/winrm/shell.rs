//! What a lab shell runs: the command line a Command carries, read as
//! cmd.exe would launch it (`powershell.exe` with `-EncodedCommand` or
//! `-Command`, `-Command -` for a script on stdin; anything else is a
//! cmd.exe line), and the per-command state between Command, Send, Receive
//! and Signal. It must not know any client's scripts: a stdin bootstrap
//! (one that reads the real script from `[Console]::In`) is an ordinary
//! script, run by the lab's interpreter with the command's stdin.
//!
//! When a script starts: powershell.exe starts at once and blocks in
//! `[Console]::In.ReadToEnd()` until the client's last Send (`End="true"`).
//! The lab's interpreter runs a script to its end under the world's lock,
//! so it cannot block half-way; instead a script that names `[Console]::In`
//! (`pwsh::reads_console_in`) starts when its input is complete, and so
//! does `-Command -`. Every other script starts at the Command, with empty
//! stdin. What the client sees is the same: output comes after the input
//! ends either way; only an output written *before* the read would come
//! earlier from powershell.exe.

use std::sync::{Arc, Condvar, Mutex};

use wsman::encoding;

use crate::pwsh::ScriptOutput;

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A PowerShell script; `clixml` when started with `-EncodedCommand`
    /// (powershell.exe then serialises its error stream as CLIXML);
    /// `reads_stdin` when it reads `[Console]::In` (it waits for the end
    /// of input, see the module comment).
    Ps {
        script: String,
        clixml: bool,
        reads_stdin: bool,
    },
    /// `-Command -`: the script is the text of stdin.
    PsFromStdin,
    Cmd(String),
    /// powershell.exe refused its arguments (printed on stderr, exit 64
    /// as powershell.exe does for bad parameters).
    BadArguments(String),
}

impl Program {
    /// Whether the command starts only once stdin has ended.
    pub fn waits_for_input(&self) -> bool {
        matches!(
            self,
            Program::PsFromStdin
                | Program::Ps {
                    reads_stdin: true,
                    ..
                }
        )
    }
}

fn ps(script: String, clixml: bool) -> Program {
    let reads_stdin = crate::pwsh::reads_console_in(&script);
    Program::Ps {
        script,
        clixml,
        reads_stdin,
    }
}

fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

/// Whether `arg` names powershell.exe's `param` switch: PowerShell takes
/// any unambiguous prefix, case-insensitively (`-enc`, `-e`, `-ec`).
fn is_switch(arg: &str, full: &str, shortest: usize, aliases: &[&str]) -> bool {
    let Some(name) = arg.strip_prefix('-').or_else(|| arg.strip_prefix('/')) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    aliases.contains(&name.as_str()) || (name.len() >= shortest && full.starts_with(&name))
}

/// Reads the Command's text and Arguments (joined with spaces, as WinRM
/// joins them) into what the lab will run.
pub fn parse_command_line(line: &str) -> Program {
    let words = split_words(line);
    let Some(exe) = words.first() else {
        return Program::Cmd(String::new());
    };
    let base = exe
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(exe)
        .to_ascii_lowercase();
    if base != "powershell" && base != "powershell.exe" {
        return Program::Cmd(line.trim().to_string());
    }
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        if is_switch(w, "encodedcommand", 1, &["ec", "enc"])
            && !is_switch(w, "executionpolicy", 2, &["ep"])
        {
            let Some(text) = words.get(i + 1) else {
                return Program::BadArguments(
                    "Cannot process the command because -EncodedCommand requires an argument."
                        .into(),
                );
            };
            return match encoding::decode_command(text) {
                Some(script) => ps(script, true),
                None => Program::BadArguments("Cannot process the command because the value specified with -EncodedCommand is not properly encoded. The value must be Base64 encoded.".into()),
            };
        }
        if is_switch(w, "command", 1, &[]) {
            let rest = words[i + 1..].join(" ");
            if rest.trim() == "-" {
                return Program::PsFromStdin;
            }
            return ps(rest, false);
        }
        if is_switch(w, "executionpolicy", 2, &["ep"])
            || is_switch(w, "outputformat", 1, &["of"])
            || is_switch(w, "inputformat", 1, &["if"])
        {
            i += 2;
            continue;
        }
        if w.starts_with('-') || w.starts_with('/') {
            i += 1; // -NoProfile, -NonInteractive, -NoLogo and friends
            continue;
        }
        // A bare word starts the command text, as -Command is the default.
        return ps(words[i..].join(" "), false);
    }
    Program::BadArguments(
        "powershell.exe was started without a command; the lab has no interactive console.".into(),
    )
}

/// The text a process reads from what stdin delivered. UNVERIFIED: the
/// lab reads the bytes as UTF-8 (invalid sequences become U+FFFD);
/// powershell.exe decodes redirected stdin with `[Console]::InputEncoding`
/// (the console's OEM code page unless changed), so non-ASCII text may read
/// differently there, which is why a client sends its script as base64.
pub fn stdin_text(stdin: &[u8]) -> String {
    String::from_utf8_lossy(stdin).into_owned()
}

/// A command's result slot: filled by the thread that runs it, awaited
/// (with the Receive's OperationTimeout) by the connection answering.
#[derive(Default)]
pub struct Job {
    result: Mutex<Option<ScriptOutput>>,
    ready: Condvar,
}

impl Job {
    pub fn finish(&self, out: ScriptOutput) {
        *self
            .result
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(out);
        self.ready.notify_all();
    }

    /// The output once finished, waiting at most `timeout`.
    pub fn wait(&self, timeout: std::time::Duration) -> Option<ScriptOutput> {
        let guard = self
            .result
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = self
            .ready
            .wait_timeout_while(guard, timeout, |r| r.is_none())
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.clone()
    }
}

/// One command in a shell.
pub struct Command {
    pub program: Program,
    pub stdin: Vec<u8>,
    /// Started (a thread is filling `job`).
    pub job: Option<Arc<Job>>,
    /// Bytes of each stream already delivered.
    pub sent_out: usize,
    pub sent_err: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps_line(script: &str, clixml: bool, reads_stdin: bool) -> Program {
        Program::Ps {
            script: script.into(),
            clixml,
            reads_stdin,
        }
    }

    #[test]
    fn encoded_command_in_any_spelling() {
        let enc = encoding::encode_command("hostname");
        for line in [
            format!("powershell.exe -NoProfile -NonInteractive -EncodedCommand {enc}"),
            format!("powershell -encodedcommand {enc}"),
            format!("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -enc {enc}"),
            format!("powershell -ExecutionPolicy Bypass -e {enc}"),
        ] {
            assert_eq!(
                parse_command_line(&line),
                ps_line("hostname", true, false),
                "{line}"
            );
        }
    }

    #[test]
    fn a_script_that_reads_console_in_waits_for_the_end_of_input() {
        // Any stdin bootstrap, not one client's: this one is not cu-roll's.
        let boot =
            "$t = [System.Console]::In.ReadToEnd() | Out-String; & ([ScriptBlock]::Create($t))";
        let line = format!(
            "powershell.exe -NoProfile -EncodedCommand {}",
            encoding::encode_command(boot)
        );
        let program = parse_command_line(&line);
        assert_eq!(program, ps_line(boot, true, true));
        assert!(program.waits_for_input());
        let plain = parse_command_line("powershell -Command [Console]::InputEncoding");
        assert!(!plain.waits_for_input(), "{plain:?}");
    }

    #[test]
    fn command_forms() {
        let stdin = parse_command_line("powershell -Command -");
        assert_eq!(stdin, Program::PsFromStdin);
        assert!(stdin.waits_for_input());
        assert_eq!(
            parse_command_line("powershell -NoProfile -Command \"Get-Date\""),
            ps_line("Get-Date", false, false)
        );
        assert_eq!(
            parse_command_line("hostname"),
            Program::Cmd("hostname".into())
        );
        assert!(matches!(
            parse_command_line("powershell -enc !!"),
            Program::BadArguments(_)
        ));
    }

    #[test]
    fn stdin_is_read_as_utf8_text() {
        assert_eq!(stdin_text("héllo\r\n".as_bytes()), "héllo\r\n");
        assert_eq!(stdin_text(&[b'a', 0xff]), "a\u{fffd}");
    }
}
