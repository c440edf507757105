//! The PowerShell host: one `powershell.exe -Command -` started in a kept
//! shell and fed one request after another on its stdin, so a server pays
//! for starting powershell.exe once per shell instead of once per call
//! (docs/winrm.md, "The PowerShell host"). A request is three lines: the
//! script, base64 of its UTF-8 inside a fixed line that runs it as a
//! script block (no quoting, no code page), then a line that writes a
//! per-host random boundary with the request's status on stdout and the
//! boundary alone on stderr. What came before the boundaries is the
//! request's output. A request past its deadline terminates the host (the
//! next call starts another); a host that ended (`exit`) answers with its
//! exit code and is not reused. It moves text; it never interprets a
//! script. Requests that carry a secret do not come here (see
//! `WinRmExecutor`): a line of stdin the host reads is a command, and a
//! secret must never be one.

use std::time::{Duration, Instant};

use base64::Engine;

use super::shell::Shell;
use crate::exec::{ExecError, ExecOutput};
use crate::plan::Secret;
use wsman::encoding;

/// How the host is started: `-Command -` reads commands from stdin, one
/// line at a time, in one process (Microsoft Learn, about_PowerShell_exe:
/// "If the value of Command is '-', the command text is read from
/// standard input"). UNVERIFIED against a capture: that each complete
/// line runs as soon as it arrives and that `$?` on the next line is the
/// status of the one before, as in an interactive console.
pub const HOST_ARGS: [&str; 5] = ["-NoProfile", "-NonInteractive", "-NoLogo", "-Command", "-"];

/// The host's first line: scripts that open an Exchange remote session
/// keep it in `$global:CuRollExchangeSession` for the next request instead
/// of removing it (`exchange::operation`, the session wrapper), since this
/// process lives on. A per-call powershell.exe never sets it, so its
/// session is removed before it exits.
pub const KEEP_SESSION_LINE: &str = "$global:CuRollKeepSession = $true\r\n";

/// A running host: its command in the shell and its boundary.
#[derive(Debug)]
pub struct PsHost {
    command_id: String,
    boundary: String,
    requests: u64,
}

/// The lines one request sends: run the script as a script block (its
/// assignments stay in its own scope), the secret's line when it has one
/// (read by the script, never by the host), then the boundary line.
pub fn request_text(script: &str, boundary: &str, secret: Option<&Secret>) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(script.as_bytes());
    let decode = format!("[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('{b64}'))");
    let mut text = match secret {
        None => format!("& ([scriptblock]::Create({decode}))\r\n"),
        // A script that cannot be compiled never reads the secret's line:
        // read it here, so the host never takes it for a command.
        Some(_) => format!(
            "try {{ $CuRollRequest = [scriptblock]::Create({decode}) }} catch {{ $null = [Console]::In.ReadLine(); throw }}; & $CuRollRequest\r\n"
        ),
    };
    if let Some(secret) = secret {
        text.push_str(&crate::exec::secret_line(secret));
    }
    text.push_str(&format!(
        "if ($?) {{ [Console]::Out.WriteLine('{boundary} 0') }} else {{ [Console]::Out.WriteLine('{boundary} 1') }}; [Console]::Error.WriteLine('{boundary}')\r\n"
    ));
    text
}

/// Where the line `marker` (followed by a space or a line end) starts in
/// `text`, at the start of a line.
fn line_at(text: &str, marker: &str) -> Option<usize> {
    text.match_indices(marker).map(|(i, _)| i).find(|&i| {
        (i == 0 || text[..i].ends_with('\n'))
            && text[i + marker.len()..].starts_with([' ', '\r', '\n'])
    })
}

/// The request's output once both boundaries arrived: stdout before the
/// stdout boundary (its status after it), stderr before the stderr one.
fn split(stdout: &str, stderr: &str, boundary: &str) -> Option<ExecOutput> {
    let o = line_at(stdout, boundary)?;
    let e = line_at(stderr, boundary)?;
    let status = stdout[o + boundary.len()..]
        .trim_start()
        .chars()
        .next()
        .and_then(|c| c.to_digit(10))
        .map_or(1, |d| i32::try_from(d).unwrap_or(1));
    Some(ExecOutput {
        stdout: stdout[..o].to_string(),
        stderr: encoding::clixml_to_text(&stderr[..e]),
        exit_code: status,
    })
}

impl PsHost {
    fn start(shell: &mut Shell) -> Result<PsHost, ExecError> {
        let command_id = shell.start("powershell.exe", &HOST_ARGS)?;
        Ok(PsHost {
            command_id,
            boundary: format!("cu-roll-{}", uuid::Uuid::new_v4().simple()),
            requests: 0,
        })
    }
}

impl Shell {
    /// Runs `script` in this shell's host (started on first use),
    /// abandoned after `timeout`. The host is dropped when it ended, when
    /// the request failed on the wire, or at the deadline (terminated).
    pub fn run_in_host(
        &mut self,
        script: &str,
        secret: Option<&Secret>,
        timeout: Duration,
    ) -> Result<ExecOutput, ExecError> {
        let watch = self.watch()?;
        let mut host = match self.host.take() {
            Some(h) => h,
            None => PsHost::start(self)?,
        };
        host.requests += 1;
        if host.requests > 1 {
            self.stats_host_request();
        }
        let result = self.request(&host, script, secret, timeout, &watch);
        match &result {
            Ok((_, true)) => self.host = Some(host),
            Ok((_, false)) => {}
            Err(ExecError::Timeout { .. }) => self.terminate(&host.command_id),
            // The request goes on in the host (it may be half-way through
            // a change); the end of its input lets the host exit after it,
            // so no powershell.exe outlives it for an installer to find.
            Err(ExecError::Interrupted { .. }) => {
                self.end_input(&host.command_id);
                self.abandon();
            }
            Err(_) => {}
        }
        result.map(|(out, _)| out)
    }

    /// One request: `(output, host still running)`.
    fn request(
        &mut self,
        host: &PsHost,
        script: &str,
        secret: Option<&Secret>,
        timeout: Duration,
        watch: &crate::runtime::CallWatch,
    ) -> Result<(ExecOutput, bool), ExecError> {
        let mut text = request_text(script, &host.boundary, secret);
        if host.requests == 1 {
            text.insert_str(0, KEEP_SESSION_LINE);
        }
        self.send_input(&host.command_id, text.as_bytes())?;
        let started = Instant::now();
        let mut stdout = encoding::StreamBuffer::default();
        let mut stderr = encoding::StreamBuffer::default();
        loop {
            if let Some(r) = self.receive_once(&host.command_id, watch)? {
                stdout.push(&r.stdout);
                stderr.push(&r.stderr);
                let (o, e) = (stdout.text(), stderr.text());
                if let Some(out) = split(&o, &e, &host.boundary) {
                    return Ok((out, r.exit_code.is_none()));
                }
                if let Some(exit_code) = r.exit_code {
                    // The host ended inside the request (`exit N`).
                    return Ok((
                        ExecOutput {
                            stdout: o,
                            stderr: encoding::clixml_to_text(&e),
                            exit_code,
                        },
                        false,
                    ));
                }
            }
            if started.elapsed() > timeout {
                return Err(ExecError::Timeout {
                    server: self.server().to_string(),
                    timeout,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_the_script_only_as_base64() {
        let text = request_text("Get-Service 'it''s'", "cu-roll-b", None);
        assert!(!text.contains("Get-Service"), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("'cu-roll-b 0'") && text.contains("'cu-roll-b 1'"));
    }

    #[test]
    fn a_secret_is_its_own_line_between_the_script_and_the_boundary() {
        let secret = Secret::new("pa ss'word".into());
        let text = request_text("$x = 1", "cu-roll-b", Some(&secret));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            format!("{}\r\n", lines[1]),
            crate::exec::secret_line(&secret)
        );
        assert!(!lines[0].contains("pa ss") && !lines[2].contains("pa ss"));
        assert!(lines[0].contains("[Console]::In.ReadLine()"), "{text}");
    }

    #[test]
    fn output_is_cut_at_the_boundaries() {
        let out = split(
            "a\r\nb\r\ncu-roll-b 1\r\n",
            "oops\r\ncu-roll-b\r\n",
            "cu-roll-b",
        )
        .unwrap();
        assert_eq!(
            out,
            ExecOutput {
                stdout: "a\r\nb\r\n".into(),
                stderr: "oops\r\n".into(),
                exit_code: 1
            }
        );
        // Only one boundary yet: wait for the other stream.
        assert_eq!(split("cu-roll-b 0\r\n", "", "cu-roll-b"), None);
        // The boundary inside a line of output is not one.
        assert_eq!(
            split("x cu-roll-b 0\r\n", "cu-roll-b\r\n", "cu-roll-b"),
            None
        );
    }
}
