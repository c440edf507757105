//! The WS-Management operations on a `cmd` shell (Create, Delete, Command,
//! Send, Receive, Signal) over a plain envelope, with the faults Windows'
//! WinRM service returns for an unknown shell, command or action. It must
//! not know how the request was authenticated or sealed.

use std::collections::HashMap;
use std::time::Duration;

use wsman::encoding;
use wsman::envelope::{self as env, NS_ADDRESSING, NS_SHELL, NS_WSMAN};

use super::jobs::start_job;
use super::shell::{self, Command};
use super::{lock, reply, Answer, Listener};

/// One WS-Management operation on a plain envelope.
pub(super) fn soap(state: &Listener, text: &str, user: &str, peer: &str) -> Answer {
    let doc = match env::parse(text) {
        Ok(d) => d,
        Err(e) => return soap_fault(state, "", "s:Sender", "w:InvalidMessageInformationHeader", 2_150_858_817, &format!("The WS-Management service cannot process the request because the XML is invalid: {e}")),
    };
    let message_id = env::find_text(&doc, NS_ADDRESSING, "MessageID").unwrap_or_default();
    let action = env::find_text(&doc, NS_ADDRESSING, "Action").unwrap_or_default();
    let timeout = env::find_text(&doc, NS_WSMAN, "OperationTimeout")
        .and_then(|t| env::parse_duration(&t))
        .unwrap_or(Duration::from_secs(60));
    let shell_id = doc
        .descendants()
        .find(|n| {
            n.tag_name().name() == "Selector"
                && n.tag_name().namespace() == Some(NS_WSMAN)
                && n.attribute("Name") == Some("ShellId")
        })
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string());
    if action != env::ACTION_CREATE {
        if let Some(id) = &shell_id {
            end_if_restarted(state, id);
        }
    }
    match action.as_str() {
        env::ACTION_CREATE => create(state, &message_id, user, peer),
        env::ACTION_DELETE => match shell_id.and_then(|id| {
            lock(&state.boots).remove(&id);
            lock(&state.shells).remove(&id)
        }) {
            Some(cmds) => {
                for input in cmds.into_values().filter_map(|c| c.input) {
                    input.terminate();
                }
                // A client closing its shell is usually a run ending: its
                // calls' PowerShell logs reach the disk before the answer,
                // so `cu-roll lab state` from another process sees them.
                let _ = state.lab.flush_logs();
                ok(reply::deleted(&message_id))
            }
            None => no_shell(state, &message_id),
        },
        env::ACTION_COMMAND => command(state, &doc, shell_id, &message_id),
        env::ACTION_SEND => send(state, &doc, shell_id, &message_id),
        env::ACTION_RECEIVE => receive(state, &doc, shell_id, &message_id, timeout),
        env::ACTION_SIGNAL => signal(state, &doc, shell_id, &message_id),
        other => soap_fault(
            state,
            &message_id,
            "s:Sender",
            "a:ActionNotSupported",
            2_150_858_754,
            &format!("The WS-Management service does not support the action {other}."),
        ),
    }
}

fn ok(body: String) -> Answer {
    Answer::Reply(200, vec![], body.into_bytes())
}

/// Create: a new shell, unless the `winrm-drops` fault closes the socket.
fn create(state: &Listener, message_id: &str, user: &str, peer: &str) -> Answer {
    let fired = state
        .lab
        .with_host(&state.server, |h| {
            h.world
                .fire_fault("winrm-drops", &state.server, None)
                .is_some()
        })
        .unwrap_or(false);
    if fired {
        return Answer::Drop;
    }
    let id = uuid::Uuid::new_v4().to_string().to_uppercase();
    if let Some(boot) = state.lab.boot_of(&state.server) {
        lock(&state.boots).insert(id.clone(), boot);
    }
    lock(&state.shells).insert(id.clone(), HashMap::new());
    ok(reply::created(message_id, &state.address, &id, user, peer))
}

/// Command: parses the command line; a program that reads its script from
/// stdin waits for Send, any other starts at once.
fn command(
    state: &Listener,
    doc: &roxmltree::Document<'_>,
    shell_id: Option<String>,
    message_id: &str,
) -> Answer {
    let Some(shell) = shell_id else {
        return no_shell(state, message_id);
    };
    let Some(cl) = env::find(doc.root(), NS_SHELL, "CommandLine") else {
        return soap_fault(
            state,
            message_id,
            "s:Sender",
            "w:SchemaValidationError",
            2_150_858_817,
            "The SOAP XML in the message does not match the corresponding XML schema definition.",
        );
    };
    let mut line = env::find(cl, NS_SHELL, "Command")
        .and_then(|c| c.text())
        .unwrap_or("")
        .trim()
        .to_string();
    for a in cl.children().filter(|n| {
        n.tag_name().name() == "Arguments" && n.tag_name().namespace() == Some(NS_SHELL)
    }) {
        line.push(' ');
        line.push_str(a.text().unwrap_or(""));
    }
    let program = shell::parse_command_line(&line);
    let mut shells = lock(&state.shells);
    let Some(cmds) = shells.get_mut(&shell) else {
        return no_shell(state, message_id);
    };
    let id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let mut cmd = Command {
        program,
        stdin: Vec::new(),
        job: None,
        input: None,
        sent_out: 0,
        sent_err: 0,
    };
    if !cmd.program.waits_for_input() {
        start_job(state, &mut cmd);
    }
    cmds.insert(id.clone(), cmd);
    ok(reply::command(message_id, &id))
}

/// Send: appends stdin to its command, and starts it at `End="true"`.
fn send(
    state: &Listener,
    doc: &roxmltree::Document<'_>,
    shell_id: Option<String>,
    message_id: &str,
) -> Answer {
    let Some(shell) = shell_id else {
        return no_shell(state, message_id);
    };
    let mut shells = lock(&state.shells);
    let Some(cmds) = shells.get_mut(&shell) else {
        return no_shell(state, message_id);
    };
    for s in doc
        .descendants()
        .filter(|n| n.tag_name().name() == "Stream" && n.tag_name().namespace() == Some(NS_SHELL))
    {
        let Some(cmd) = s.attribute("CommandId").and_then(|c| cmds.get_mut(c)) else {
            return soap_fault(state, message_id, "s:Sender", "w:InvalidParameter", 2_150_858_843, "The request for the Windows Remote Shell with ShellId failed because the command could not be found.");
        };
        let bytes = encoding::unb64(s.text().unwrap_or("")).unwrap_or_default();
        let end = s
            .attribute("End")
            .is_some_and(|e| e.eq_ignore_ascii_case("true"));
        if let Some(input) = &cmd.input {
            input.push(&bytes, end);
            continue;
        }
        cmd.stdin.extend(bytes);
        if end && cmd.job.is_none() {
            start_job(state, cmd);
        }
    }
    ok(reply::send(message_id))
}

/// Signal: terminate forgets the command.
fn signal(
    state: &Listener,
    doc: &roxmltree::Document<'_>,
    shell_id: Option<String>,
    message_id: &str,
) -> Answer {
    let Some(shell) = shell_id else {
        return no_shell(state, message_id);
    };
    let mut shells = lock(&state.shells);
    let Some(cmds) = shells.get_mut(&shell) else {
        return no_shell(state, message_id);
    };
    if let Some(c) =
        env::find(doc.root(), NS_SHELL, "Signal").and_then(|s| s.attribute("CommandId"))
    {
        // Terminate: the command is forgotten (a lab script cannot be
        // interrupted, it only finishes unseen; a `-Command -` process
        // stops before its next command).
        if let Some(input) = cmds.remove(c).and_then(|c| c.input) {
            input.terminate();
        }
    }
    ok(reply::signal(message_id))
}

/// Receive: long-polls the command's job up to the OperationTimeout for
/// output not yet delivered (or its end), then delivers it in
/// Windows-sized chunks; `Done` only once the command has ended and all
/// of it went out.
fn receive(
    state: &Listener,
    doc: &roxmltree::Document<'_>,
    shell_id: Option<String>,
    message_id: &str,
    timeout: Duration,
) -> Answer {
    let Some(shell) = shell_id else {
        return no_shell(state, message_id);
    };
    let Some(command_id) = env::find(doc.root(), NS_SHELL, "DesiredStream")
        .and_then(|d| d.attribute("CommandId"))
        .map(str::to_string)
    else {
        return soap_fault(
            state,
            message_id,
            "s:Sender",
            "w:InvalidParameter",
            2_150_858_843,
            "The Receive request names no CommandId.",
        );
    };
    let job = {
        let mut shells = lock(&state.shells);
        let Some(cmds) = shells.get_mut(&shell) else {
            return no_shell(state, message_id);
        };
        let Some(cmd) = cmds.get_mut(&command_id) else {
            return soap_fault(state, message_id, "s:Sender", "w:InvalidParameter", 2_150_858_843, "The request for the Windows Remote Shell with ShellId failed because the command could not be found.");
        };
        (cmd.job.clone(), (cmd.sent_out, cmd.sent_err))
    };
    let (job, sent) = job;
    // Waiting for stdin, or still running past the long-poll: TimedOut.
    let Some(out) = job.and_then(|j| j.wait(sent, timeout)) else {
        return Answer::Reply(
            500,
            vec![],
            reply::timed_out(message_id, &state.server).into_bytes(),
        );
    };
    let mut shells = lock(&state.shells);
    let Some(cmd) = shells.get_mut(&shell).and_then(|c| c.get_mut(&command_id)) else {
        return no_shell(state, message_id);
    };
    // Deliver at most this much per answer, in Windows-sized chunks.
    const PER_ANSWER: usize = 96 * 1024;
    const CHUNK: usize = 8 * 1024;
    let (o, e) = (out.stdout.as_bytes(), out.stderr.as_bytes());
    let o_end = (cmd.sent_out + PER_ANSWER).min(o.len());
    let e_end = (cmd.sent_err + PER_ANSWER.saturating_sub(o_end - cmd.sent_out)).min(e.len());
    let so: Vec<&[u8]> = o[cmd.sent_out..o_end].chunks(CHUNK).collect();
    let se: Vec<&[u8]> = e[cmd.sent_err..e_end].chunks(CHUNK).collect();
    cmd.sent_out = o_end;
    cmd.sent_err = e_end;
    let done = out
        .exit_code
        .filter(|_| o_end == o.len() && e_end == e.len());
    Answer::Reply(
        200,
        vec![],
        reply::received(message_id, &command_id, &so, &se, done).into_bytes(),
    )
}

/// Forgets shell `id` (and stops its processes) when its server restarted
/// since the shell was created: the shell is gone, as after a real reboot.
fn end_if_restarted(state: &Listener, id: &str) {
    let Some(born) = lock(&state.boots).get(id).copied() else {
        return;
    };
    if state.lab.boot_of(&state.server) == Some(born) {
        return;
    }
    lock(&state.boots).remove(id);
    if let Some(cmds) = lock(&state.shells).remove(id) {
        for input in cmds.into_values().filter_map(|c| c.input) {
            input.terminate();
        }
    }
}

fn no_shell(state: &Listener, message_id: &str) -> Answer {
    soap_fault(state, message_id, "s:Sender", "w:InvalidSelectors", 2_150_858_843, "The request for the Windows Remote Shell with ShellId failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation.")
}

fn soap_fault(
    state: &Listener,
    message_id: &str,
    code: &str,
    sub: &str,
    wsman_code: u32,
    message: &str,
) -> Answer {
    Answer::Reply(
        500,
        vec![],
        reply::fault(message_id, code, sub, wsman_code, &state.server, message).into_bytes(),
    )
}
