//! The PowerShell operational log of one lab server, as an auditor with
//! script block logging and module logging turned on would read it
//! (Microsoft Learn, about_Logging_Windows): event 4104 holds the text of
//! every script block PowerShell compiles (a whole script, a block made by
//! `[scriptblock]::Create`, a block sent by `Invoke-Command`), split into
//! parts like "Creating Scriptblock text (1 of 2)"; event 4103 holds every
//! command invocation with its parameter values (`CommandInvocation(X):
//! "X"` then one `ParameterBinding(X): name="…"; value="…"` line per
//! argument). A value shows as PowerShell converts it to text, so a
//! SecureString shows `System.Security.SecureString`, never its characters.
//! The lab logs a parameter by the name written in the script (a
//! positional argument as `name="(position N)"`), where Windows logs the
//! bound name (UNVERIFIED detail). Bounded: the newest `MAX_EVENTS` of each
//! kind are kept, so the saved world stays small. Read through `cu-roll lab
//! state --format json` (`servers[].powershell_log`).

use serde::{Deserialize, Serialize};

use super::pwsh::convert::to_ps_string;
use super::pwsh::host::Argument;
use super::pwsh::value::Value;

/// Events of each kind kept per server (the oldest go first).
pub const MAX_EVENTS: usize = 128;
/// Characters per 4104 part.
const PART_CHARS: usize = 16 * 1024;

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    pub time_ms: i64,
    /// The Windows event id: 4104 or 4103.
    pub id: u16,
    pub message: String,
}

/// A server's Microsoft-Windows-PowerShell/Operational log, the two kinds
/// of event the lab records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PowerShellLog {
    /// Event 4104, script block logging.
    pub script_blocks: Vec<LogEvent>,
    /// Event 4103, module logging.
    pub invocations: Vec<LogEvent>,
}

fn push(events: &mut Vec<LogEvent>, e: LogEvent) {
    events.push(e);
    if events.len() > MAX_EVENTS {
        let extra = events.len() - MAX_EVENTS;
        events.drain(..extra);
    }
}

impl PowerShellLog {
    /// 4104 for a script block's text.
    pub fn script_block(&mut self, time_ms: i64, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        let parts: Vec<String> = if chars.is_empty() {
            vec![String::new()]
        } else {
            chars
                .chunks(PART_CHARS)
                .map(|c| c.iter().collect())
                .collect()
        };
        let n = parts.len();
        for (k, part) in parts.into_iter().enumerate() {
            push(
                &mut self.script_blocks,
                LogEvent {
                    time_ms,
                    id: 4104,
                    message: format!("Creating Scriptblock text ({} of {n}):\r\n{part}", k + 1),
                },
            );
        }
    }

    /// 4103 for one command invocation.
    /// Pipeline input is logged as `InputObject`, one line per object.
    pub fn invocation(&mut self, time_ms: i64, command: &str, args: &[Argument], input: &[Value]) {
        let mut message = format!("CommandInvocation({command}): \"{command}\"\r\n");
        let mut position = 0;
        for a in args {
            let (name, value) = match a {
                Argument::Named { name, value } => (
                    name.clone(),
                    value
                        .as_ref()
                        .map_or_else(|| "True".to_string(), to_ps_string),
                ),
                Argument::Positional(v) => {
                    position += 1;
                    (format!("(position {})", position - 1), to_ps_string(v))
                }
            };
            message.push_str(&format!(
                "ParameterBinding({command}): name=\"{name}\"; value=\"{value}\"\r\n"
            ));
        }
        for v in input {
            message.push_str(&format!(
                "ParameterBinding({command}): name=\"InputObject\"; value=\"{}\"\r\n",
                to_ps_string(v)
            ));
        }
        push(
            &mut self.invocations,
            LogEvent {
                time_ms,
                id: 4103,
                message,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_scripts_split_and_old_events_go() {
        let mut log = PowerShellLog::default();
        log.script_block(1, &"x".repeat(PART_CHARS + 1));
        assert_eq!(log.script_blocks.len(), 2);
        assert!(log.script_blocks[1]
            .message
            .starts_with("Creating Scriptblock text (2 of 2):\r\nx"));
        for i in 0..MAX_EVENTS + 5 {
            log.invocation(
                i as i64,
                "Get-Service",
                &[Argument::Positional(Value::str("W3SVC"))],
                &[],
            );
        }
        assert_eq!(log.invocations.len(), MAX_EVENTS);
        assert_eq!(log.invocations[0].time_ms, 5);
        assert_eq!(
            log.invocations[0].message,
            "CommandInvocation(Get-Service): \"Get-Service\"\r\nParameterBinding(Get-Service): name=\"(position 0)\"; value=\"W3SVC\"\r\n"
        );
    }
}
