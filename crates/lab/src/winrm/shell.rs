//! What a lab shell runs: the command line a Command carries, read as
//! cmd.exe would launch it (`powershell.exe` with `-EncodedCommand`, the
//! client's stdin bootstrap, `-Command`; anything else is a cmd.exe line),
//! and the per-command state between Command, Send, Receive and Signal.

use std::sync::{Arc, Condvar, Mutex};

use wsman::encoding;

/// cu-roll's client runs long scripts behind this `-EncodedCommand`
/// bootstrap, which reads base64 of the script's UTF-8 from stdin.
/// Recognised by its text until the lab's interpreter runs it the way
/// powershell.exe would (the issue tracker has the follow-up).
const STDIN_BOOTSTRAP: &str = "$s=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd()));& ([scriptblock]::Create($s))";
use crate::pwsh::ScriptOutput;

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A PowerShell script; `clixml` when started with `-EncodedCommand`
    /// (powershell.exe then serialises its error stream as CLIXML).
    Ps {
        script: String,
        clixml: bool,
    },
    /// The script arrives on stdin: `-Command -`, or cu-roll's bootstrap
    /// (stdin holds base64 of the script's UTF-8).
    PsFromStdin {
        base64: bool,
        clixml: bool,
    },
    Cmd(String),
    /// powershell.exe refused its arguments (printed on stderr, exit 64
    /// as powershell.exe does for bad parameters).
    BadArguments(String),
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
                Some(s) if s == STDIN_BOOTSTRAP => Program::PsFromStdin { base64: true, clixml: true },
                Some(script) => Program::Ps { script, clixml: true },
                None => Program::BadArguments("Cannot process the command because the value specified with -EncodedCommand is not properly encoded. The value must be Base64 encoded.".into()),
            };
        }
        if is_switch(w, "command", 1, &[]) {
            let rest = words[i + 1..].join(" ");
            if rest.trim() == "-" {
                return Program::PsFromStdin {
                    base64: false,
                    clixml: false,
                };
            }
            return Program::Ps {
                script: rest,
                clixml: false,
            };
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
        return Program::Ps {
            script: words[i..].join(" "),
            clixml: false,
        };
    }
    Program::BadArguments(
        "powershell.exe was started without a command; the lab has no interactive console.".into(),
    )
}

/// Turns what stdin delivered into the script to run.
pub fn script_from_stdin(stdin: &[u8], base64: bool) -> Result<String, String> {
    if base64 {
        let text = String::from_utf8_lossy(stdin);
        let bytes = encoding::unb64(&text).ok_or("Exception calling \"FromBase64String\" with \"1\" argument(s): \"The input is not a valid Base-64 string.\"")?;
        String::from_utf8(bytes).map_err(|_| "the script on stdin is not UTF-8".to_string())
    } else {
        Ok(String::from_utf8_lossy(stdin).into_owned())
    }
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
                Program::Ps {
                    script: "hostname".into(),
                    clixml: true
                },
                "{line}"
            );
        }
    }

    #[test]
    fn bootstrap_and_command_forms() {
        let boot = encoding::encode_command(STDIN_BOOTSTRAP);
        assert_eq!(
            parse_command_line(&format!("powershell.exe -NoProfile -EncodedCommand {boot}")),
            Program::PsFromStdin {
                base64: true,
                clixml: true
            }
        );
        assert_eq!(
            parse_command_line("powershell -Command -"),
            Program::PsFromStdin {
                base64: false,
                clixml: false
            }
        );
        assert_eq!(
            parse_command_line("powershell -NoProfile -Command \"Get-Date\""),
            Program::Ps {
                script: "Get-Date".into(),
                clixml: false
            }
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
    fn stdin_payload() {
        let b64 = encoding::b64("Get-Date".as_bytes());
        assert_eq!(script_from_stdin(b64.as_bytes(), true).unwrap(), "Get-Date");
        assert!(script_from_stdin(b"***", true).is_err());
    }
}
