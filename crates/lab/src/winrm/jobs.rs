//! Job threads: each shell command runs on a thread of its own against the
//! shared `Lab`, so a Receive can long-poll its `Job` while the script runs.
//! A `powershell.exe -Command -` process is one thread for its whole life:
//! it runs each line of stdin as it arrives, in one `PsProcess` (one start
//! paid), until stdin ends, a command runs `exit`, or Signal terminates it.
//! While a `command-hangs` fault holds, what a command produced is handed
//! over only when the hold ends (or the command is terminated): the
//! client sees a command that takes that long. It must not speak
//! WS-Management: `soap` asks for output and frames it.

use std::sync::Arc;

use wsman::encoding;

use super::shell::{self, Command, Input, Job, Next, Program};
use super::Listener;
use crate::pwsh::ScriptOutput;
use crate::Lab;

/// Runs the command on a thread of its own, so Receive can long-poll.
pub(super) fn start_job(state: &Listener, cmd: &mut Command) {
    let job = Arc::new(Job::default());
    cmd.job = Some(job.clone());
    let lab = state.lab.clone();
    let server = state.server.clone();
    if cmd.program == Program::PsFromStdin {
        let input = Arc::new(Input::default());
        input.push(&std::mem::take(&mut cmd.stdin), false);
        cmd.input = Some(input.clone());
        std::thread::spawn(move || run_process(&lab, &server, &input, &job));
        return;
    }
    let program = cmd.program.clone();
    let stdin = std::mem::take(&mut cmd.stdin);
    std::thread::spawn(move || {
        let out = run_program(&lab, &server, &program, &stdin);
        hold_answer(&lab, None);
        job.finish(out);
    });
}

/// Waits while a `command-hangs` fault holds (on the lab's clock, so a
/// `lab advance` past the hold ends it), or until `input`'s command is
/// terminated. Polled, outside the world's lock.
fn hold_answer(lab: &Lab, input: Option<&Input>) {
    while lab.answers_held() && !input.is_some_and(Input::terminated) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn run_program(lab: &Lab, server: &str, program: &Program, stdin: &[u8]) -> ScriptOutput {
    let failed = |msg: String| ScriptOutput {
        stdout: String::new(),
        stderr: format!("{msg}\r\n"),
        exit_code: 1,
    };
    let result = match program {
        Program::Cmd(line) => lab.run_cmd(server, line),
        Program::Ps { script, clixml, .. } => lab
            .run_ps_with_stdin(server, script, &shell::stdin_text(stdin))
            .map(|o| clixml_stderr(o, *clixml)),
        // Never here: `start_job` gives it a process of its own.
        Program::PsFromStdin => lab.run_ps(server, &shell::stdin_text(stdin)),
        Program::BadArguments(msg) => {
            return ScriptOutput {
                stdout: String::new(),
                stderr: format!("{msg}\r\n"),
                exit_code: 64,
            }
        }
    };
    result.unwrap_or_else(|e| failed(e.to_string()))
}

fn clixml_stderr(mut out: ScriptOutput, clixml: bool) -> ScriptOutput {
    if clixml && !out.stderr.is_empty() {
        out.stderr = encoding::text_to_clixml(&out.stderr);
    }
    out
}

/// `powershell.exe -Command -`: one process reading commands from stdin,
/// a line at a time (a line that does not parse yet waits for the next,
/// as the console waits for the rest of a statement; UNVERIFIED beyond
/// whole lines, which is all a client needs). Output streams to `job`
/// after each command; the exit code is the last command's status.
fn run_process(lab: &Lab, server: &str, input: &Input, job: &Job) {
    let mut process = match lab.start_process(server) {
        Ok(p) => p,
        Err(e) => {
            return job.finish(ScriptOutput {
                stdout: String::new(),
                stderr: format!("{e}\r\n"),
                exit_code: 1,
            })
        }
    };
    let mut status = 0;
    let mut partial = String::new();
    loop {
        let (text, last) = match input.next() {
            Next::Terminated => return,
            Next::Lines(t) => (t, false),
            Next::End(t) => (t, true),
        };
        let mut rest = text;
        // What this batch of lines wrote, delivered together once it is
        // run (a client's Receive then sees a request's whole answer).
        let mut batch = ScriptOutput {
            stdout: String::new(),
            stderr: String::new(),
            exit_code: 0,
        };
        while let Some(line) = take_line(&mut rest, last) {
            partial.push_str(&line);
            if partial.trim().is_empty() {
                partial.clear();
                continue;
            }
            let prepared = crate::pwsh::prepare(&partial);
            if !last && !prepared.is_valid() {
                partial.push('\n');
                continue;
            }
            partial.clear();
            match lab.run_prepared_in_process(&mut process, prepared, &mut rest) {
                Ok(Some(out)) => {
                    status = out.exit_code;
                    batch.stdout.push_str(&out.stdout);
                    batch.stderr.push_str(&out.stderr);
                    if process.exited() {
                        batch.exit_code = status;
                        let _ = lab.end_batch(&mut process);
                        hold_answer(lab, Some(input));
                        return job.finish(batch);
                    }
                }
                // The server restarted under the process, or is down.
                Ok(None) => {
                    job.write(&batch.stdout, &batch.stderr);
                    return job.finish(ended());
                }
                Err(e) => {
                    batch.stderr.push_str(&format!("{e}\r\n"));
                    status = 1;
                }
            }
        }
        if let Err(e) = lab.end_batch(&mut process) {
            batch.stderr.push_str(&format!("{e}\r\n"));
        }
        hold_answer(lab, Some(input));
        if last {
            batch.exit_code = status;
            return job.finish(batch);
        }
        job.write(&batch.stdout, &batch.stderr);
        input.unread(&rest);
    }
}

/// The next line of `rest` (without its line break); a last line without
/// one only when input has ended.
fn take_line(rest: &mut String, ended: bool) -> Option<String> {
    match rest.find('\n') {
        Some(i) => {
            let line = rest[..i].trim_end_matches('\r').to_string();
            rest.drain(..=i);
            Some(line)
        }
        None if ended && !rest.is_empty() => Some(std::mem::take(rest)),
        None => None,
    }
}

/// A process the server's restart ended (UNVERIFIED text: a real client
/// sees the shell gone instead).
fn ended() -> ScriptOutput {
    ScriptOutput {
        stdout: String::new(),
        stderr: "The process ended: the server restarted.\r\n".into(),
        exit_code: -1,
    }
}
