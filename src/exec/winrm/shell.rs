//! `Shell`: a Windows Remote Shell on one server that runs any number of
//! commands (cmd.exe lines and PowerShell scripts, long ones through stdin)
//! before it is deleted, and gives its client back when closed so the
//! connection outlives it. It runs the Command → Send → Receive → Signal
//! flow over the client's operations; it never interprets what it runs.
//! At the operator's interrupt a command is no longer waited for (one
//! begun after it a few seconds later): its Receive is given up, the
//! command is left to finish on the server and the shell is abandoned
//! there, never deleted; past that point a command is not sent at all
//! (docs/winrm.md, "Cancellation").

use std::time::{Duration, Instant};

use base64::Engine;

use super::client::{parse_with, Client, Failure, Op};
use crate::exec::{ExecError, ExecOutput};
use crate::plan::Secret;
use crate::runtime::CallWatch;
use wsman::encoding::{self, StreamBuffer};
use wsman::envelope::{self, Header};

/// Above this many characters of `-EncodedCommand` text the command line
/// would pass cmd.exe's 8191-character limit (with the executable name and
/// switches): base64 of UTF-16LE is 8/3 the script's length, so scripts
/// longer than about 2,600 characters go through stdin instead.
pub const MAX_INLINE_ENCODED: usize = 7_800;

/// The fixed script run when the real one comes on stdin: read the first
/// line of stdin (base64 of the script's UTF-8, so no console code page can
/// mangle it), decode it, run it as a script block. Whatever follows on
/// stdin (the secret line of [`Shell::run_ps_with_secret`]) is left for the
/// script's own `[Console]::In.ReadLine()`. `exit N` inside still ends
/// powershell.exe with N.
pub const STDIN_BOOTSTRAP: &str = "$s=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadLine()));& ([scriptblock]::Create($s))";

/// What goes on stdin behind [`STDIN_BOOTSTRAP`]: the script's line, then
/// (for a script that reads one) the secret's line.
pub fn bootstrap_stdin(script: &str, secret: Option<&Secret>) -> String {
    let mut stdin = base64::engine::general_purpose::STANDARD.encode(script.as_bytes());
    stdin.push_str("\r\n");
    if let Some(secret) = secret {
        stdin.push_str(&crate::exec::secret_line(secret));
    }
    stdin
}

/// An open remote shell. Dropping it deletes it on the server. The
/// executor keeps one per server between calls, so a shell outlives many
/// commands; a shell the server no longer knows (it rebooted, or the
/// shell sat idle past WinRS's `IdleTimeout`) says so through
/// [`Shell::lost_at`], and the executor opens another.
pub struct Shell {
    client: Client,
    shell_id: String,
    /// The operation at which the server said it had no such shell.
    lost: Option<Op>,
    /// The long-lived powershell.exe running in this shell, once started.
    pub(crate) host: Option<super::host::PsHost>,
    /// A command in it was given up at the operator's interrupt and still
    /// runs: the shell is neither reused nor deleted (deleting it would
    /// end the command).
    abandoned: bool,
}

impl Shell {
    pub(crate) fn new(client: Client, shell_id: String) -> Shell {
        Shell {
            client,
            shell_id,
            lost: None,
            host: None,
            abandoned: false,
        }
    }

    pub fn id(&self) -> &str {
        &self.shell_id
    }

    /// The plan's name of the shell's server.
    pub fn server(&self) -> &str {
        &self.client.endpoint().server
    }

    /// `Some(op)` once the server answered `op` with "no such shell":
    /// the shell is gone. `Some(Op::Command)` means the command did not
    /// start, so it may be run again in a new shell.
    pub fn lost_at(&self) -> Option<Op> {
        self.lost
    }

    /// Whether a command in it was given up at the interrupt (it may still
    /// run there): the shell must not be used again.
    pub fn abandoned(&self) -> bool {
        self.abandoned
    }

    /// When a call beginning now gives up waiting: at the operator's
    /// interrupt, or for a call begun after it (the step's way to its
    /// next safe point, the run's report) `AFTER_INTERRUPT` after it. An
    /// expired watch sends nothing: the call fails before it starts.
    pub(crate) fn watch(&self) -> Result<CallWatch, ExecError> {
        let watch = self.client.options().cancel.watch_call();
        if watch.expired() {
            return Err(ExecError::Interrupted {
                server: self.server().to_string(),
            });
        }
        Ok(watch)
    }

    /// Gives the shell up after an interrupt (see `abandoned`).
    pub(crate) fn abandon(&mut self) {
        self.abandoned = true;
        self.host = None;
    }

    fn op(
        &mut self,
        op: Op,
        timeout: Duration,
        body: &dyn Fn(&Header<'_>) -> String,
    ) -> Result<String, ExecError> {
        let shell = self.shell_id.clone();
        let to = self.client.endpoint().url();
        let result = self.client.operation_raw(op, &|id| {
            body(&Header {
                to: &to,
                message_id: id,
                operation_timeout: timeout,
                shell_id: Some(&shell),
            })
        });
        result.map_err(|(f, n)| self.failed(op, f, n))
    }

    /// The failure as an `ExecError`, noting a vanished shell.
    fn failed(&mut self, op: Op, f: Failure, attempts: u32) -> ExecError {
        if matches!(&f, Failure::Fault(fault) if is_shell_gone(fault)) {
            self.lost.get_or_insert(op);
        }
        self.client.exec_error(op, f, attempts)
    }

    /// Runs a PowerShell script as `powershell.exe -NoProfile
    /// -NonInteractive -EncodedCommand …`, or behind [`STDIN_BOOTSTRAP`]
    /// when it is too long for a command line.
    pub fn run_ps(&mut self, script: &str) -> Result<ExecOutput, ExecError> {
        self.run_ps_timed(script, None)
    }

    /// [`Shell::run_ps`] abandoned after `timeout` (`None`: the client's
    /// `command_timeout`).
    pub fn run_ps_timed(
        &mut self,
        script: &str,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let encoded = encoding::encode_command(script);
        let mut out = if encoded.len() <= MAX_INLINE_ENCODED {
            self.run_timed(
                "powershell.exe",
                &["-NoProfile", "-NonInteractive", "-EncodedCommand", &encoded],
                None,
                timeout,
            )?
        } else {
            self.run_behind_bootstrap(script, None, timeout)?
        };
        out.stderr = encoding::clixml_to_text(&out.stderr);
        Ok(out)
    }

    /// Runs a PowerShell script behind [`STDIN_BOOTSTRAP`] with `secret`'s
    /// line after the script's on stdin: the secret is in no command line
    /// and no script text. Nothing logs what is sent.
    pub fn run_ps_with_secret(
        &mut self,
        script: &str,
        secret: &Secret,
    ) -> Result<ExecOutput, ExecError> {
        self.run_ps_with_secret_timed(script, secret, None)
    }

    /// [`Shell::run_ps_with_secret`] abandoned after `timeout` (`None`: the
    /// client's `command_timeout`).
    pub fn run_ps_with_secret_timed(
        &mut self,
        script: &str,
        secret: &Secret,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let mut out = self.run_behind_bootstrap(script, Some(secret), timeout)?;
        out.stderr = encoding::clixml_to_text(&out.stderr);
        Ok(out)
    }

    fn run_behind_bootstrap(
        &mut self,
        script: &str,
        secret: Option<&Secret>,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let boot = encoding::encode_command(STDIN_BOOTSTRAP);
        let stdin = bootstrap_stdin(script, secret);
        self.run_timed(
            "powershell.exe",
            &["-NoProfile", "-NonInteractive", "-EncodedCommand", &boot],
            Some(stdin.as_bytes()),
            timeout,
        )
    }

    /// Runs a cmd.exe command line.
    pub fn run_cmd(&mut self, command: &str) -> Result<ExecOutput, ExecError> {
        self.run(command, &[], None)
    }

    /// Command → Send (stdin) → Receive until Done → Signal terminate.
    pub fn run(
        &mut self,
        command: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, ExecError> {
        self.run_timed(command, args, stdin, None)
    }

    /// [`Shell::run`] abandoned after `timeout` (`None`: the client's
    /// `command_timeout`).
    pub fn run_timed(
        &mut self,
        command: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let poll = self.client.options().poll_timeout;
        let timeout = timeout.unwrap_or(self.client.options().command_timeout);
        let watch = self.watch()?;
        let text = self.op(Op::Command, poll, &|h| envelope::command(h, command, args))?;
        self.client.stats().command_started();
        let command_id = parse_with(&self.client, Op::Command, &text, |d| {
            envelope::command_id(d)
        })?;
        let result = self.drive(&command_id, stdin, timeout, &watch);
        if let Err(ExecError::Interrupted { .. }) = &result {
            // Not terminated: it may be half-way through a change (a
            // service restart killed between its stop and its start
            // leaves the service stopped); it ends on its own there.
            self.abandon();
            return result;
        }
        // Terminate releases the command's resources even after Done (what
        // winrs does); a failure here must not hide the command's result.
        let _ = self.op(Op::Signal, poll, &|h| {
            envelope::signal_terminate(h, &command_id)
        });
        result
    }

    fn drive(
        &mut self,
        command_id: &str,
        stdin: Option<&[u8]>,
        timeout: Duration,
        watch: &CallWatch,
    ) -> Result<ExecOutput, ExecError> {
        let poll = self.client.options().poll_timeout;
        if let Some(data) = stdin {
            // Stay well under MaxEnvelopeSize once base64 grows the chunk.
            const CHUNK: usize = 64 * 1024;
            let chunks: Vec<&[u8]> = if data.is_empty() {
                vec![&[][..]]
            } else {
                data.chunks(CHUNK).collect()
            };
            let last = chunks.len() - 1;
            for (i, c) in chunks.iter().enumerate() {
                let b64 = encoding::b64(c);
                self.op(Op::Send, poll, &|h| {
                    envelope::send(h, command_id, &b64, i == last)
                })?;
            }
        }
        let started = Instant::now();
        let mut stdout = StreamBuffer::default();
        let mut stderr = StreamBuffer::default();
        loop {
            if let Some(r) = self.receive_once(command_id, watch)? {
                stdout.push(&r.stdout);
                stderr.push(&r.stderr);
                if let Some(exit_code) = r.exit_code {
                    return Ok(ExecOutput {
                        stdout: stdout.text(),
                        stderr: stderr.text(),
                        exit_code,
                    });
                }
            }
            if started.elapsed() > timeout {
                return Err(ExecError::Timeout {
                    server: self.client.endpoint().server.clone(),
                    timeout,
                });
            }
        }
    }

    /// Starts `command` and returns its CommandId, without waiting for it
    /// (the PowerShell host's start).
    pub(crate) fn start(&mut self, command: &str, args: &[&str]) -> Result<String, ExecError> {
        let poll = self.client.options().poll_timeout;
        let text = self.op(Op::Command, poll, &|h| envelope::command(h, command, args))?;
        self.client.stats().command_started();
        parse_with(&self.client, Op::Command, &text, |d| {
            envelope::command_id(d)
        })
    }

    /// Sends `data` to the running command's stdin without ending it, in
    /// Sends of at most 64 KiB (well under MaxEnvelopeSize once base64).
    pub(crate) fn send_input(&mut self, command_id: &str, data: &[u8]) -> Result<(), ExecError> {
        let poll = self.client.options().poll_timeout;
        for chunk in data.chunks(64 * 1024) {
            let b64 = encoding::b64(chunk);
            self.op(Op::Send, poll, &|h| {
                envelope::send(h, command_id, &b64, false)
            })?;
        }
        Ok(())
    }

    /// One Receive: what the command wrote since the last one (`None`
    /// when nothing came within the long-poll); given up
    /// (`ExecError::Interrupted`) the moment `watch` expires.
    pub(crate) fn receive_once(
        &mut self,
        command_id: &str,
        watch: &CallWatch,
    ) -> Result<Option<envelope::Received>, ExecError> {
        let poll = self.client.options().poll_timeout;
        let shell = self.shell_id.clone();
        let to = self.client.endpoint().url();
        self.client.watch(Some(watch.clone()));
        let reply = self.client.operation_raw(Op::Receive, &|id| {
            envelope::receive(
                &Header {
                    to: &to,
                    message_id: id,
                    operation_timeout: poll,
                    shell_id: Some(&shell),
                },
                command_id,
            )
        });
        self.client.watch(None);
        match reply {
            Ok(text) => parse_with(&self.client, Op::Receive, &text, envelope::received).map(Some),
            Err((Failure::Fault(f), _)) if f.is_timed_out() => Ok(None),
            Err((f, n)) => Err(self.failed(Op::Receive, f, n)),
        }
    }

    /// Counts a call answered by a running host.
    pub(crate) fn stats_host_request(&self) {
        self.client.stats().host_request();
    }

    /// Signal terminate to the command (best effort).
    pub(crate) fn terminate(&mut self, command_id: &str) {
        let poll = self.client.options().poll_timeout;
        let _ = self.op(Op::Signal, poll, &|h| {
            envelope::signal_terminate(h, command_id)
        });
    }

    /// Ends the command's standard input (a PowerShell host then exits
    /// once its current request is done), best effort.
    pub(crate) fn end_input(&mut self, command_id: &str) {
        let poll = self.client.options().poll_timeout;
        let _ = self.op(Op::Send, poll, &|h| envelope::send(h, command_id, "", true));
    }

    fn delete(&mut self) {
        if self.lost.is_none() && !self.abandoned {
            let poll = self.client.options().poll_timeout;
            let _ = self.op(Op::Delete, poll, &|h| envelope::delete_shell(h));
        }
    }
}

/// The fault WinRM answers for a ShellId it does not know: subcode
/// `w:InvalidSelectors`, WSManFault code 2150858843 (0x8033805B), "the
/// shell was not found on the server". That is the lab's answer
/// (crates/lab/src/winrm/soap.rs, `no_shell`), written after the message
/// Windows gives; the exact fault after a real reboot is UNVERIFIED
/// against a capture, hence the three ways to recognise it.
pub(crate) fn is_shell_gone(fault: &envelope::Fault) -> bool {
    fault.code.as_deref() == Some("2150858843")
        || fault
            .subcode
            .as_deref()
            .is_some_and(|s| s.ends_with("InvalidSelectors"))
        || fault.message.contains("shell was not found")
}

impl Drop for Shell {
    fn drop(&mut self) {
        self.delete();
    }
}
