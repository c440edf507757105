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
    /// `-Command -`: commands are read from stdin one line at a time and
    /// run as they arrive, in one process (see `jobs::start_process`).
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
            Program::Ps {
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

/// A command's output so far: filled by the thread that runs it (all at
/// once for a script, command by command for a `-Command -` process),
/// awaited (with the Receive's OperationTimeout) by the connection
/// answering.
#[derive(Default)]
pub struct Job {
    result: Mutex<Progress>,
    ready: Condvar,
}

/// What a job has written, and its exit code once it has ended.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: Option<i32>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Job {
    /// The process ended with `out` as its last output.
    pub fn finish(&self, out: ScriptOutput) {
        let mut p = lock(&self.result);
        p.stdout.push_str(&out.stdout);
        p.stderr.push_str(&out.stderr);
        p.exit_code = Some(out.exit_code);
        self.ready.notify_all();
    }

    /// More output from a process that goes on running.
    pub fn write(&self, stdout: &str, stderr: &str) {
        let mut p = lock(&self.result);
        p.stdout.push_str(stdout);
        p.stderr.push_str(stderr);
        self.ready.notify_all();
    }

    /// The output once there is more than `sent` (bytes of stdout and
    /// stderr already delivered) or the job has ended, waiting at most
    /// `timeout`; `None` when nothing new came.
    pub fn wait(&self, sent: (usize, usize), timeout: std::time::Duration) -> Option<Progress> {
        let guard = lock(&self.result);
        let (guard, _) = self
            .ready
            .wait_timeout_while(guard, timeout, |p| {
                p.exit_code.is_none() && p.stdout.len() <= sent.0 && p.stderr.len() <= sent.1
            })
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ready =
            guard.exit_code.is_some() || guard.stdout.len() > sent.0 || guard.stderr.len() > sent.1;
        ready.then(|| guard.clone())
    }
}

/// The standard input of a running `-Command -` process: what Send
/// delivered and it has not read yet, whether the client ended it, and
/// whether the command was terminated (Signal).
#[derive(Default)]
pub struct Input {
    state: Mutex<InputState>,
    ready: Condvar,
}

#[derive(Default)]
struct InputState {
    pending: Vec<u8>,
    ended: bool,
    terminated: bool,
}

/// What a process waiting on its input gets next.
pub enum Next {
    /// Whole lines (up to the last newline that arrived).
    Lines(String),
    /// Input ended (the rest, possibly a last line without a newline).
    End(String),
    /// The command was terminated.
    Terminated,
}

impl Input {
    pub fn push(&self, bytes: &[u8], end: bool) {
        let mut s = lock(&self.state);
        s.pending.extend_from_slice(bytes);
        s.ended |= end;
        self.ready.notify_all();
    }

    pub fn terminate(&self) {
        lock(&self.state).terminated = true;
        self.ready.notify_all();
    }

    /// Whether the command was terminated (Signal).
    pub fn terminated(&self) -> bool {
        lock(&self.state).terminated
    }

    /// Blocks until whole lines arrived, input ended or the command was
    /// terminated.
    pub fn next(&self) -> Next {
        let mut s = lock(&self.state);
        loop {
            if s.terminated {
                return Next::Terminated;
            }
            if let Some(at) = s.pending.iter().rposition(|b| *b == b'\n') {
                let lines: Vec<u8> = s.pending.drain(..=at).collect();
                return Next::Lines(stdin_text(&lines));
            }
            if s.ended {
                return Next::End(stdin_text(&std::mem::take(&mut s.pending)));
            }
            s = self
                .ready
                .wait(s)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Puts back what a command did not read (it goes first).
    pub fn unread(&self, text: &str) {
        let mut s = lock(&self.state);
        let mut back = text.as_bytes().to_vec();
        back.extend_from_slice(&s.pending);
        s.pending = back;
    }
}

/// One command in a shell.
pub struct Command {
    pub program: Program,
    pub stdin: Vec<u8>,
    /// Started (a thread is filling `job`).
    pub job: Option<Arc<Job>>,
    /// A `-Command -` process's input, fed by Send while it runs.
    pub input: Option<Arc<Input>>,
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
        assert!(
            !stdin.waits_for_input(),
            "a -Command - process starts at once"
        );
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
