//! Job threads: each shell command runs on a thread of its own against the
//! shared `Lab`, so a Receive can long-poll its `Job` while the script runs.
//! It must not speak WS-Management: `soap` asks for output and frames it.

use std::sync::Arc;

use wsman::encoding;

use super::shell::{self, Command, Job, Program};
use super::Listener;
use crate::pwsh::ScriptOutput;
use crate::Lab;

/// Runs the command on a thread of its own, so Receive can long-poll.
pub(super) fn start_job(state: &Listener, cmd: &mut Command) {
    let job = Arc::new(Job::default());
    cmd.job = Some(job.clone());
    let lab = state.lab.clone();
    let server = state.server.clone();
    let program = cmd.program.clone();
    let stdin = std::mem::take(&mut cmd.stdin);
    std::thread::spawn(move || job.finish(run_program(&lab, &server, &program, &stdin)));
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
