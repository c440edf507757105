//! The audit log: what the commands that reach servers outside a rollout
//! (`exec`, `backup`, `restore-config`, `report`, `drift`) sent where, one
//! JSON object per line appended to `audit.jsonl` in the plan's state
//! directory, every line with the invocation's `run_id` (docs/audit.md).
//! A rollout (`run`) has its journal and `cu-roll.log` instead.
//!
//! What is written: the command line, then per script the server, where the
//! connection went (address or FQDN, port, transport), the script's kind,
//! size, sha256, first line and the Exchange cmdlets it calls, then its exit
//! code or error. Never a secret: a password travels on the script's
//! standard input (`Executor::run_ps_with_secret`), which is not logged;
//! only the fact that a secret went with it is. Nothing here decides
//! anything or talks to a server itself: [`AuditedExecutor`] wraps the
//! command's executor and passes every call through.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::exec::{ExecError, ExecOutput, Executor};
use crate::plan::{Plan, Secret, Server};

/// The audit log's name inside the state directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// Longest first line kept per script.
const FIRST_LINE_MAX: usize = 200;

#[derive(Debug, thiserror::Error)]
#[error("cannot open the audit log {path}: {source}; check that the state directory is writable (--state-dir chooses another)")]
pub struct AuditError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// One invocation's audit log: its run id and the file lines go to.
pub struct Audit {
    run_id: String,
    command: &'static str,
    transport: String,
    file: Mutex<File>,
    path: PathBuf,
}

impl Audit {
    /// Opens (creating) `<state>/audit.jsonl` for `command` and writes its
    /// `started` line: the command line as given, who ran it and where.
    pub fn open(state: &Path, command: &'static str, plan: &Plan) -> Result<Audit, AuditError> {
        let path = state.join(AUDIT_FILE);
        let error = |source| AuditError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state).map_err(error)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(error)?;
        let audit = Audit {
            run_id: new_run_id(),
            command,
            transport: format!("{:?}", plan.connection.transport).to_ascii_lowercase(),
            file: Mutex::new(file),
            path,
        };
        let env = |k: &str| std::env::var(k).ok();
        audit.write(
            "started",
            json!({
                "argv": std::env::args().collect::<Vec<_>>(),
                "plan": plan.path.display().to_string(),
                "user": env("USER").or_else(|| env("USERNAME")),
                "host": env("COMPUTERNAME").or_else(|| env("HOSTNAME")),
                "pid": std::process::id(),
            }),
        );
        Ok(audit)
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line: time, run id, command, `event`, then `fields`.
    /// A line that cannot be written is reported on stderr, once per line;
    /// the command goes on (its own output is the primary record).
    fn write(&self, event: &str, fields: Value) {
        let mut line = json!({
            "time": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            "run_id": self.run_id,
            "command": self.command,
            "event": event,
        });
        if let (Some(line), Value::Object(more)) = (line.as_object_mut(), fields) {
            line.extend(more);
        }
        let mut text = line.to_string();
        text.push('\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = file.write_all(text.as_bytes()) {
            eprintln!(
                "cu-roll: warning: could not append to the audit log {}: {e}",
                self.path.display()
            );
        }
    }

    fn sent(&self, server: &Server, kind: &str, script: &str) {
        let first_line = script
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        let first_line: String = first_line.chars().take(FIRST_LINE_MAX).collect();
        self.write(
            "sent",
            json!({
                "server": server.name,
                "to": server.address.as_deref().unwrap_or(&server.fqdn),
                "port": server.port,
                "transport": self.transport,
                "kind": kind,
                "bytes": script.len(),
                "sha256": crate::backup::sha256_hex(script.as_bytes()),
                "first_line": first_line,
                "exchange_cmdlets": crate::exchange::exchange_cmdlets_in(script),
            }),
        );
    }

    fn answered(&self, server: &Server, result: &Result<ExecOutput, ExecError>) {
        let fields = match result {
            Ok(out) => json!({ "server": server.name, "exit_code": out.exit_code }),
            Err(e) => json!({ "server": server.name, "error": e.to_string() }),
        };
        self.write("answered", fields);
    }
}

/// A run id for one invocation: milliseconds since the epoch and the pid,
/// as `run` makes its own.
fn new_run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", now.as_millis(), std::process::id())
}

/// An executor that writes every call to the audit log, before it is sent
/// (`sent`) and when it returns (`answered`).
pub struct AuditedExecutor {
    inner: Box<dyn Executor>,
    audit: Audit,
}

impl AuditedExecutor {
    pub fn new(inner: Box<dyn Executor>, audit: Audit) -> AuditedExecutor {
        AuditedExecutor { inner, audit }
    }

    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    fn logged(
        &self,
        server: &Server,
        kind: &str,
        script: &str,
        call: impl FnOnce() -> Result<ExecOutput, ExecError>,
    ) -> Result<ExecOutput, ExecError> {
        self.audit.sent(server, kind, script);
        let result = call();
        self.audit.answered(server, &result);
        result
    }
}

impl Executor for AuditedExecutor {
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        self.logged(server, "powershell", script, || {
            self.inner.run_ps(server, script)
        })
    }

    fn run_ps_with_secret(
        &self,
        server: &Server,
        script: &str,
        secret: &Secret,
    ) -> Result<ExecOutput, ExecError> {
        self.logged(
            server,
            "powershell, a secret on stdin (not logged)",
            script,
            || self.inner.run_ps_with_secret(server, script, secret),
        )
    }

    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        self.logged(server, "cmd", command, || {
            self.inner.run_cmd(server, command)
        })
    }

    /// Keeps the command's own deadline (review real-exchange.md #4).
    fn run_ps_timed(
        &self,
        server: &Server,
        script: &str,
        secret: Option<&Secret>,
        timeout: Option<std::time::Duration>,
    ) -> Result<ExecOutput, ExecError> {
        let how = match secret {
            Some(_) => "powershell, a secret on stdin (not logged)",
            None => "powershell",
        };
        self.logged(server, how, script, || {
            self.inner.run_ps_timed(server, script, secret, timeout)
        })
    }

    fn end_sessions(&self, server: &Server) {
        self.inner.end_sessions(server);
    }

    fn installer_account(&self) -> Option<(String, Secret)> {
        self.inner.installer_account()
    }

    fn refusal(&self) -> Option<String> {
        self.inner.refusal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;
    impl Executor for Echo {
        fn run_ps(&self, _: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            Ok(ExecOutput {
                stdout: "ok".into(),
                stderr: String::new(),
                exit_code: 0,
            })
        }
        fn run_ps_with_secret(
            &self,
            s: &Server,
            script: &str,
            _: &Secret,
        ) -> Result<ExecOutput, ExecError> {
            self.run_ps(s, script)
        }
        fn run_cmd(&self, s: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            Err(ExecError::Unreachable {
                server: s.name.clone(),
                detail: "test".into(),
            })
        }
    }

    #[test]
    fn every_call_is_logged_before_and_after_with_the_run_id_and_never_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let plan = crate::plan::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap();
        let mut server = plan.servers[0].clone();
        server.address = Some("192.0.2.10".into());
        let audit = Audit::open(dir.path(), "exec", &plan).unwrap();
        let run_id = audit.run_id().to_string();
        let exec = AuditedExecutor::new(Box::new(Echo), audit);
        let secret = Secret::new("s3cret-Pa55".into());
        exec.run_ps_with_secret(
            &server,
            "# head\nGet-MailboxServer -Identity 'EX01'",
            &secret,
        )
        .unwrap();
        exec.run_cmd(&server, "hostname").unwrap_err();
        let text = std::fs::read_to_string(dir.path().join(AUDIT_FILE)).unwrap();
        assert!(!text.contains("s3cret-Pa55"), "{text}");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
        assert_eq!(events, ["started", "sent", "answered", "sent", "answered"]);
        assert!(lines.iter().all(|l| l["run_id"] == run_id.as_str()));
        assert!(lines.iter().all(|l| l["command"] == "exec"));
        assert_eq!(lines[1]["to"], "192.0.2.10");
        assert_eq!(lines[1]["server"], "EX01");
        assert_eq!(lines[1]["first_line"], "Get-MailboxServer -Identity 'EX01'");
        assert_eq!(lines[1]["exchange_cmdlets"], json!(["Get-MailboxServer"]));
        assert_eq!(
            lines[1]["kind"],
            "powershell, a secret on stdin (not logged)"
        );
        assert_eq!(lines[2]["exit_code"], 0);
        assert_eq!(lines[3]["first_line"], "hostname");
        assert!(
            lines[4]["error"].as_str().unwrap().contains("EX01"),
            "{}",
            lines[4]
        );
    }
}
