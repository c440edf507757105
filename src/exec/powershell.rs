//! The local PowerShell transport (`transport = "powershell"`): for a
//! Windows management host with the Exchange tools, cu-roll starts
//! `powershell.exe` (or the plan's `powershell_path`) and runs each script
//! on the target with `Invoke-Command -ComputerName <fqdn>`, so PowerShell
//! remoting authenticates as the signed-in admin (Kerberos) and cu-roll
//! handles no password at all. This module only builds the wrapper script,
//! runs the process and reads its output; it never interprets the script.
//! At the operator's interrupt it stops waiting for its process and leaves
//! it running (docs/winrm.md, "Cancellation").

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::winrm::encoding;
use super::winrm::shell::{bootstrap_stdin, STDIN_BOOTSTRAP};
use super::{ExecError, ExecOutput, Executor};
use crate::plan::{Plan, Server};
use crate::ps::quote;

/// The line the cmd.exe wrapper prints last, carrying cmd's exit code
/// (Invoke-Command does not return a remote process's exit code).
pub const EXIT_MARKER: &str = "__CUROLL_EXIT__=";

/// Above this many characters of `-EncodedCommand`, the wrapper goes on
/// stdin: CreateProcess limits a command line to 32,767 characters.
const MAX_INLINE_ENCODED: usize = 30_000;

#[derive(Debug, Clone)]
pub struct PowerShellExecutor {
    program: String,
    timeout: Duration,
}

impl PowerShellExecutor {
    pub fn new(program: impl Into<String>, timeout: Duration) -> PowerShellExecutor {
        PowerShellExecutor {
            program: program.into(),
            timeout,
        }
    }

    /// `powershell_path` (default `powershell.exe`, found on PATH) and
    /// `operation_timeout` from the plan.
    pub fn from_plan(plan: &Plan) -> PowerShellExecutor {
        let c = &plan.connection;
        PowerShellExecutor::new(
            c.powershell_path
                .clone()
                .unwrap_or_else(|| "powershell.exe".to_string()),
            c.operation_timeout,
        )
    }

    fn run(
        &self,
        server: &Server,
        wrapper: &str,
        cmd_marker: bool,
    ) -> Result<ExecOutput, ExecError> {
        let encoded = encoding::encode_command(wrapper);
        let (arg, stdin) = if encoded.len() <= MAX_INLINE_ENCODED {
            (encoded, None)
        } else {
            (
                encoding::encode_command(STDIN_BOOTSTRAP),
                Some(bootstrap_stdin(wrapper, None)),
            )
        };
        self.spawn(server, &arg, stdin, cmd_marker)
    }

    /// Starts the local powershell.exe with `-EncodedCommand arg` and
    /// `stdin` (never logged), and reads its result.
    fn spawn(
        &self,
        server: &Server,
        arg: &str,
        stdin: Option<String>,
        cmd_marker: bool,
    ) -> Result<ExecOutput, ExecError> {
        // Given up at the operator's interrupt (begun after it: a few
        // seconds later, and not started at all past that).
        let watch = crate::runtime::Cancel::process().watch_call();
        if watch.expired() {
            return Err(ExecError::Interrupted {
                server: server.name.clone(),
            });
        }
        let mut child = Command::new(&self.program)
            .args(["-NoProfile", "-NonInteractive", "-EncodedCommand", arg])
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ExecError::Transport {
                server: server.name.clone(),
                detail: format!(
                    "cannot start {} ({e}); install Windows PowerShell or set [connection] powershell_path",
                    self.program
                ),
            })?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // Written on a thread: a child that answers before reading all
            // of stdin must not deadlock us.
            std::thread::spawn(move || {
                let _ = pipe.write_all(text.as_bytes());
            });
        }
        let reader = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                buf
            })
        };
        let out = reader(Box::new(child.stdout.take().expect("piped")));
        let err = reader(Box::new(child.stderr.take().expect("piped")));
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                // Left running: it may be half-way through a change.
                Ok(None) if watch.expired() => {
                    return Err(ExecError::Interrupted {
                        server: server.name.clone(),
                    });
                }
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(ExecError::Timeout {
                        server: server.name.clone(),
                        timeout: self.timeout,
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => {
                    return Err(ExecError::Transport {
                        server: server.name.clone(),
                        detail: format!("waiting for {}: {e}", self.program),
                    })
                }
            }
        };
        let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
        let stderr =
            encoding::clixml_to_text(&String::from_utf8_lossy(&err.join().unwrap_or_default()));
        let exit_code = status.code().unwrap_or(1);
        let out = if cmd_marker {
            split_marker(stdout, stderr, exit_code)
        } else {
            ExecOutput {
                stdout,
                stderr,
                exit_code,
            }
        };
        check_remoting(server, out)
    }
}

/// The wrapper that runs `script` on `fqdn`. `$?` is false when the remote
/// script wrote an error, which becomes exit code 1 as powershell.exe's own.
pub fn ps_wrapper(fqdn: &str, script: &str) -> String {
    format!(
        "[Console]::OutputEncoding = [Text.Encoding]::UTF8\n\
         $ProgressPreference = 'SilentlyContinue'\n\
         Invoke-Command -ComputerName {} -ScriptBlock ([scriptblock]::Create({}))\n\
         if (-not $?) {{ exit 1 }}\n",
        quote(fqdn),
        quote(script)
    )
}

/// The wrapper that runs `script` on `fqdn` with a secret on its stdin.
/// The local powershell.exe reads the secret's line from its own stdin
/// (behind [`STDIN_BOOTSTRAP`], after the wrapper's line) into a
/// SecureString, which remoting carries encrypted as an argument; on the
/// server the line is piped into a child powershell.exe running `script`,
/// whose `[Console]::In.ReadLine()` reads it. The secret is never in a
/// script text, a command line or a plain cmdlet argument. UNVERIFIED on
/// Windows (no capture): the lab does not run this transport.
pub fn ps_secret_wrapper(fqdn: &str, script: &str) -> String {
    let remote = format!(
        "param($line)\n\
         $plain = [Runtime.InteropServices.Marshal]::PtrToStringBSTR([Runtime.InteropServices.Marshal]::SecureStringToBSTR($line))\n\
         $plain | powershell.exe -NoProfile -NonInteractive -EncodedCommand {}\n\
         if ($LASTEXITCODE -ne 0) {{ throw ('the script exited with code ' + $LASTEXITCODE) }}\n",
        quote(&encoding::encode_command(script))
    );
    format!(
        "[Console]::OutputEncoding = [Text.Encoding]::UTF8\n\
         $ProgressPreference = 'SilentlyContinue'\n\
         $line = New-Object -TypeName System.Security.SecureString\n\
         foreach ($c in [Console]::In.ReadLine().ToCharArray()) {{ $line.AppendChar($c) }}\n\
         Invoke-Command -ComputerName {} -ArgumentList $line -ScriptBlock ([scriptblock]::Create({}))\n\
         if (-not $?) {{ exit 1 }}\n",
        quote(fqdn),
        quote(&remote)
    )
}

/// The wrapper that runs a cmd.exe line on `fqdn` and prints its exit code last.
pub fn cmd_wrapper(fqdn: &str, command: &str) -> String {
    let inner = format!(
        "cmd.exe /c {}\n\"{EXIT_MARKER}$LASTEXITCODE\"",
        quote(command)
    );
    ps_wrapper(fqdn, &inner)
}

/// Takes the exit marker off the end of stdout.
fn split_marker(stdout: String, stderr: String, process_code: i32) -> ExecOutput {
    let trimmed = stdout.trim_end_matches(['\r', '\n']);
    let (body, last) = match trimmed.rfind('\n') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    match last
        .trim()
        .strip_prefix(EXIT_MARKER)
        .and_then(|c| c.parse::<i32>().ok())
    {
        Some(code) => ExecOutput {
            stdout: body.to_string(),
            stderr,
            exit_code: code,
        },
        // No marker: the remote side never ran the command (remoting failed).
        None => ExecOutput {
            stdout,
            stderr,
            exit_code: if process_code == 0 { 1 } else { process_code },
        },
    }
}

/// PowerShell remoting's own failures become transport errors, not a
/// failed script: the target was never reached.
fn check_remoting(server: &Server, out: ExecOutput) -> Result<ExecOutput, ExecError> {
    if out.exit_code != 0 && out.stderr.contains("PSRemotingTransportException") {
        let detail = out
            .stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string();
        if out.stderr.contains("Access is denied") {
            let user = std::env::var("USERNAME").unwrap_or_else(|_| "the signed-in user".into());
            return Err(ExecError::AuthFailed {
                server: server.name.clone(),
                user,
            });
        }
        return Err(ExecError::Unreachable {
            server: server.name.clone(),
            detail,
        });
    }
    Ok(out)
}

impl Executor for PowerShellExecutor {
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        self.run(server, &ps_wrapper(&server.fqdn, script), false)
    }

    fn run_ps_with_secret(
        &self,
        server: &Server,
        script: &str,
        secret: &crate::plan::Secret,
    ) -> Result<ExecOutput, ExecError> {
        let wrapper = ps_secret_wrapper(&server.fqdn, script);
        let boot = encoding::encode_command(STDIN_BOOTSTRAP);
        self.spawn(
            server,
            &boot,
            Some(bootstrap_stdin(&wrapper, Some(secret))),
            false,
        )
    }

    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        self.run(server, &cmd_wrapper(&server.fqdn, command), true)
    }

    /// The command's own deadline replaces `operation_timeout` for this call.
    fn run_ps_timed(
        &self,
        server: &Server,
        script: &str,
        secret: Option<&crate::plan::Secret>,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let this = PowerShellExecutor {
            timeout: timeout.unwrap_or(self.timeout),
            ..self.clone()
        };
        match secret {
            Some(secret) => this.run_ps_with_secret(server, script, secret),
            None => this.run_ps(server, script),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Server {
        Server {
            name: "EX01".into(),
            fqdn: "ex01.contoso.local".into(),
            dag: None,
            redirect_to: None,
            address: None,
            port: None,
            edge: None,
        }
    }

    #[test]
    fn the_wrapper_quotes_the_script_as_one_literal() {
        let w = ps_wrapper("ex01.contoso.local", "Write-Output 'it''s'; Get-Date");
        assert_eq!(
            w,
            "[Console]::OutputEncoding = [Text.Encoding]::UTF8\n$ProgressPreference = 'SilentlyContinue'\n\
             Invoke-Command -ComputerName 'ex01.contoso.local' -ScriptBlock ([scriptblock]::Create('Write-Output ''it''''s''; Get-Date'))\n\
             if (-not $?) { exit 1 }\n"
        );
        assert!(lab::pwsh::syntax_check(&w).is_ok(), "{w}");
        // A typographic quote cannot close the literal either.
        assert!(cmd_wrapper("ex01.contoso.local", "type C:\\a\u{2019}b.log")
            .contains("a\u{2019}\u{2019}\u{2019}\u{2019}b"));
    }

    #[test]
    fn the_secret_wrapper_carries_no_secret_and_parses() {
        let w = ps_secret_wrapper(
            "ex01.contoso.local",
            "$x = [Console]::In.ReadLine()\n'it''s'",
        );
        assert!(lab::pwsh::syntax_check(&w).is_ok(), "{w}");
        assert!(w.contains("Invoke-Command -ComputerName 'ex01.contoso.local' -ArgumentList $line"));
        let stdin = bootstrap_stdin(&w, Some(&crate::plan::Secret::new("pa$$w0rd".into())));
        let lines: Vec<&str> = stdin.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "script line, secret line, end");
        assert_eq!(lines[1], "cGEkJHcwcmQ=");
        assert!(!w.contains("pa$$w0rd") && !w.contains("cGEkJHcwcmQ="));
    }

    #[test]
    fn the_exit_marker_gives_cmds_exit_code() {
        let out = split_marker(format!("EX01\r\n{EXIT_MARKER}3\r\n"), String::new(), 0);
        assert_eq!((out.stdout.as_str(), out.exit_code), ("EX01\r\n", 3));
        let out = split_marker(String::new(), "boom".into(), 0);
        assert_eq!(out.exit_code, 1);
    }

    #[test]
    fn remoting_failures_are_unreachable() {
        let out = ExecOutput {
            stdout: String::new(),
            stderr: "[ex01.contoso.local] Connecting to remote server ex01.contoso.local failed with the following error message : WinRM cannot complete the operation.\r\n    + FullyQualifiedErrorId : WinRMOperationTimeout,PSSessionStateBroken\r\n    + CategoryInfo : OpenError: (ex01.contoso.local:String) [], PSRemotingTransportException\r\n".into(),
            exit_code: 1,
        };
        let err = check_remoting(&server(), out).unwrap_err();
        assert!(matches!(err, ExecError::Unreachable { .. }), "{err:?}");
        assert!(
            err.to_string().contains("Connecting to remote server"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_powershell_is_explained() {
        let exec = PowerShellExecutor::new("/nonexistent/powershell.exe", Duration::from_secs(5));
        let err = exec.run_ps(&server(), "Get-Date").unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot start /nonexistent/powershell.exe"),
            "{err}"
        );
    }
}
