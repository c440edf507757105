//! Typed Exchange operations built on `exec` + `ps`: each function renders
//! one script, runs it on one server and parses what it printed into plain
//! Rust values. Nothing here decides anything (that is `preflight` and
//! `runbook`), and nothing here knows whether the server is real or the lab.

mod observe;
mod rollout;
pub mod scripts;

pub use observe::{
    ad_levels, ad_levels_script, exchange_state, exchange_state_script, server_facts,
    server_facts_script, AdLevelsObs, ComponentObs, CopyObs, ExchangeState, InstalledProduct,
    QueueObs, RequesterObs, ServerFacts,
};
pub use rollout::{
    query, query_list, BootState, HealthTestsObs, MapiObs, MoveResultObs, ReplicationCheckObs,
    ServiceHealthObs, ServiceObs,
};

use crate::exec::ExecError;
use crate::ps::JsonError;

/// Whether Exchange setup (`ExSetup.exe`) runs on `server`, asked with cmd
/// only, so it can be checked before any PowerShell goes to a server that
/// may be mid-upgrade.
pub fn setup_running(
    exec: &dyn crate::exec::Executor,
    server: &crate::plan::Server,
) -> Result<bool, ExecError> {
    let out = exec.run_cmd(server, scripts::CMD_EXSETUP_PROCESS)?;
    Ok(exsetup_in_tasklist(&out.stdout))
}

/// `tasklist … /FO CSV /NH` lists `"ExSetup.exe","4242",…` while setup
/// runs, and an `INFO:` line otherwise.
pub fn exsetup_in_tasklist(stdout: &str) -> bool {
    stdout.to_ascii_lowercase().contains("\"exsetup.exe\"")
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("Exchange setup is running on {server}: not queried with PowerShell (setup refuses to run beside other PowerShell processes); ask again when it has finished")]
    SetupRunning { server: String },
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("{purpose} failed on {server} (exit code {exit_code}): {detail}")]
    ScriptFailed {
        server: String,
        purpose: &'static str,
        exit_code: i32,
        detail: String,
    },
    #[error("{purpose} on {server}: {source}")]
    BadOutput {
        server: String,
        purpose: &'static str,
        source: JsonError,
    },
}

/// The first meaningful line of a PowerShell error stream, for messages.
pub(crate) fn first_error_line(stderr: &str) -> String {
    let line = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no error text)");
    line.chars().take(400).collect()
}

/// Every script `cu-roll report` sends, rendered for a sample server
/// `EX01`, named for snapshots and grammar checks.
pub fn scripts_for_report() -> Vec<(&'static str, crate::ps::Script)> {
    let sample = crate::plan::Server {
        name: "EX01".into(),
        fqdn: "ex01.contoso.local".into(),
        dag: Some("DAG01".into()),
        redirect_to: None,
        address: None,
        port: None,
    };
    vec![
        ("report_server_facts", observe::server_facts_script()),
        (
            "report_exchange_state",
            observe::exchange_state_script(&sample),
        ),
        ("report_ad_levels", observe::ad_levels_script()),
        (
            "report_media",
            crate::preflight::media::media_script_for(
                "D:\\Setup.exe",
                true,
                Some("C:\\Updates\\Exchange2019-CU15-Feb26SU.msp"),
                true,
            ),
        ),
        (
            "report_schema_master",
            crate::preflight::adprep::schema_master_script(),
        ),
    ]
}
