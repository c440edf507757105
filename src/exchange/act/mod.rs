//! What cu-roll changes on a server, as typed operations: one constructor
//! per change, in runbook order, each returning an [`Action`] — the script
//! to send, where it runs (its [`Placement`](crate::exchange::Placement),
//! from its template) and the journal `Change`s it makes once it
//! succeeded. Steps compose these; the dry run prints the same values. The
//! templates are in `templates`. Nothing here sends anything or decides
//! whether an action is needed.

mod redistribute;
pub mod templates;
pub mod transport_exit;

pub use redistribute::{RedistributeMove, RedistributeReport};

use serde::Deserialize;

use super::{Operation, FUNCTIONAL, MAINTENANCE};
use crate::journal::Change;
use crate::ps::Arg;

/// The transport service restarted so a HubTransport change takes effect.
pub const TRANSPORT_SERVICE: &str = "MSExchangeTransport";

/// The cluster group whose owner is the Primary Active Manager.
pub const CORE_CLUSTER_GROUP: &str = "Cluster Group";

/// The deadline of a command that waits for something slow: a transport
/// restart, a service start, explicit database moves. Review
/// real-exchange.md #4 asks 10-15 minutes; Microsoft's procedure waits as
/// long as `Restart-Service` does (manage-dags) and ExchangeDsc waits up to
/// 5 minutes for transport's bootloader after it (TransportMaintenance.psm1
/// `Wait-BootLoaderReady`), so 15 minutes covers both with room. The
/// figure itself is UNVERIFIED (no source gives one).
pub const LONG_COMMAND: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// What a task-waiting script adds to the wait it does itself (starting
/// the task, registering and removing it).
const TASK_MARGIN: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// One change to send: `op` says what and where; `changes` are what
/// cu-roll journals right after it succeeded, in order. `changes` is empty
/// for the two actions whose effect is known only from what they print
/// ([`move_cluster_group_off`], [`move_active_databases`]): the step
/// records that from the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub op: Operation,
    pub changes: Vec<Change>,
}

fn action(op: Operation, changes: Vec<Change>) -> Action {
    Action { op, changes }
}

fn component(component: &str, state: &str, requester: &str) -> Change {
    Change::ComponentState {
        component: component.into(),
        state: state.into(),
        requester: requester.into(),
    }
}

fn transport_restarted() -> Change {
    Change::ServiceRestarted {
        service: TRANSPORT_SERVICE.into(),
    }
}

fn on_server(t: &super::Template, purpose: &'static str, server: &str) -> Operation {
    t.render(purpose, &[("server", Arg::Str(server))])
}

// ------------------------------------------------------ enter-maintenance

/// Runbook §2.1: HubTransport Draining ([`restart_transport`] follows).
pub fn drain_hub_transport(server: &str) -> Action {
    action(
        on_server(
            &templates::DRAIN_HUB_TRANSPORT,
            "HubTransport Draining",
            server,
        ),
        vec![component("HubTransport", "Draining", MAINTENANCE)],
    )
}

/// The transport restart on the server itself, after each HubTransport
/// change (and alone when a crash came between the two).
pub fn restart_transport() -> Action {
    action(
        templates::RESTART_TRANSPORT
            .render(
                "restart MSExchangeTransport (a HubTransport change takes effect on restart)",
                &[],
            )
            .with_timeout(LONG_COMMAND),
        vec![transport_restarted()],
    )
}

/// Runbook §2.3 (Exchange 2016 only).
pub fn drain_um_call_router(server: &str) -> Action {
    action(
        on_server(
            &templates::DRAIN_UM_CALL_ROUTER,
            "UMCallRouter Draining",
            server,
        ),
        vec![component("UMCallRouter", "Draining", MAINTENANCE)],
    )
}

/// Runbook §2.4: queued mail to `target` (an FQDN).
pub fn redirect_messages(server: &str, target: &str) -> Action {
    action(
        templates::REDIRECT_MESSAGES.render(
            "Redirect-Message: queued mail to another member",
            &[("server", Arg::Str(server)), ("target", Arg::Str(target))],
        ),
        vec![Change::MessagesRedirected {
            target: target.into(),
        }],
    )
}

/// A shadow-redundancy heartbeat on each of `peers` for `primary_fqdn`,
/// in one call (`templates::SHADOW_HEARTBEAT`; it prints the members whose
/// Retry-Queue failed); it changes nothing cu-roll undoes.
pub fn shadow_heartbeat(peers: &[&str], primary_fqdn: &str) -> Action {
    let filter = super::observe::shadow_filter(primary_fqdn);
    action(
        templates::SHADOW_HEARTBEAT.render(
            "Retry-Queue: the other members' shadow queues for this server (discards come back)",
            &[("peers", Arg::List(peers)), ("filter", Arg::Str(&filter))],
        ),
        Vec::new(),
    )
}

/// Runbook §2.5.
pub fn suspend_cluster_node(server: &str) -> Action {
    action(
        on_server(
            &templates::SUSPEND_CLUSTER_NODE,
            "Suspend-ClusterNode",
            server,
        ),
        vec![Change::ClusterNodeSuspended],
    )
}

/// `Cluster Group` off `server` when it owns it; prints a
/// [`ClusterGroupMove`], from which the step records the move.
pub fn move_cluster_group_off(server: &str) -> Action {
    action(
        on_server(
            &templates::MOVE_CLUSTER_GROUP_OFF,
            "Cluster Group (the PAM) off this server, if it owns it",
            server,
        ),
        Vec::new(),
    )
}

/// What `MOVE_CLUSTER_GROUP_OFF` prints: the core group's owner before,
/// and after (the same node when it did not own it, so nothing moved).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterGroupMove {
    pub from: String,
    pub to: String,
}

/// Runbook §2.6.
pub fn move_now_on(server: &str) -> Action {
    action(
        on_server(
            &templates::MOVE_NOW_ON,
            "DatabaseCopyActivationDisabledAndMoveNow $true",
            server,
        ),
        vec![Change::ActivationDisabledAndMoveNow { value: true }],
    )
}

/// Runbook §2.7; `from` is the policy before, journaled so
/// exit-maintenance restores it.
pub fn block_activation(server: &str, from: Option<&str>) -> Action {
    action(
        on_server(
            &templates::BLOCK_ACTIVATION,
            "DatabaseCopyAutoActivationPolicy Blocked",
            server,
        ),
        vec![Change::ActivationPolicy {
            policy: "Blocked".into(),
            from: from.map(str::to_string),
        }],
    )
}

/// The explicit move of copies still mounted after MoveNow; prints a list
/// of [`MoveResultObs`], which the step reports.
pub fn move_active_databases(server: &str) -> Action {
    action(
        on_server(
            &templates::MOVE_ACTIVE_DATABASES,
            "Move-ActiveMailboxDatabase: copies still mounted after MoveNow",
            server,
        )
        .with_timeout(LONG_COMMAND),
        Vec::new(),
    )
}

/// One `DatabaseMoveResult` of `Move-ActiveMailboxDatabase`, as
/// `MOVE_ACTIVE_DATABASES` projects it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveResultObs {
    pub identity: String,
    /// `Succeeded`, `Warning`, `Failed`, `Skipped`, `Unknown`.
    pub status: String,
    #[serde(default)]
    pub active_server_at_end: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// Runbook §2.9.
pub fn server_wide_offline(server: &str) -> Action {
    action(
        on_server(
            &templates::SERVER_WIDE_OFFLINE,
            "ServerWideOffline Inactive",
            server,
        ),
        vec![component("ServerWideOffline", "Inactive", MAINTENANCE)],
    )
}

// ---------------------------------------------------------------- reboots

/// Runbook §3. Its change (the request, with the boot time before it) must
/// be journaled *before* sending: the connection drops under the restart,
/// and a resumed run must know it was asked for.
pub fn restart_computer(step: &str, previous_boot: &str) -> Action {
    action(
        templates::RESTART_COMPUTER.render("Restart-Computer", &[]),
        vec![Change::RebootRequested {
            step: step.into(),
            previous_boot: previous_boot.into(),
        }],
    )
}

/// Sets `service` (found with start type `from`) to `to` and starts it.
/// Its change must be journaled *before* sending (the before-state is what
/// makes it reversible).
pub fn set_service_start_type(service: &str, from: &str, to: &str) -> Action {
    action(
        templates::SET_SERVICE_START_TYPE
            .render(
                "set a service an installer left Disabled back to its start type, and start it",
                &[("service", Arg::Str(service)), ("start_type", Arg::Str(to))],
            )
            .with_timeout(LONG_COMMAND),
        vec![Change::ServiceStartType {
            service: service.into(),
            from: from.into(),
            to: to.into(),
        }],
    )
}

// ------------------------------------------------------------- installers

/// The names on the server of one detached installer: its scheduled task,
/// and its batch and exit code files under `%SystemDrive%\cu-roll`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallerTask {
    pub task: &'static str,
    pub batch_file: &'static str,
    pub exit_file: &'static str,
}

/// Whose identity the installer's scheduled task runs under: always an
/// account with Exchange's rights, never SYSTEM (which acts in AD as the
/// computer account and fails setup's rules; there is deliberately no way
/// to ask for it). `password` is the secret itself when running, a
/// placeholder for dry-run output.
pub struct TaskAccount {
    pub user: String,
    pub password: String,
}

/// The batch the task runs: the installer, then its exit code into the
/// exit file. The redirection comes first on purpose: in
/// `echo %ERRORLEVEL%> file` an exit code 0–9 would expand to `echo 0> file`,
/// which cmd reads as a redirection of handle 0, writing an empty file.
pub fn batch_text(task: &InstallerTask, command_line: &str) -> String {
    format!(
        "@echo off\r\n{command_line}\r\n>\"%SystemDrive%\\cu-roll\\{}\" echo %ERRORLEVEL%\r\n",
        task.exit_file
    )
}

/// Writes the batch for `command_line` and starts it as scheduled task
/// `task` under `account`; journaled as started by step `step`.
pub fn start_installer(
    step: &str,
    task: &InstallerTask,
    command_line: &str,
    account: &TaskAccount,
) -> Action {
    let batch = batch_text(task, command_line);
    let args = [
        ("exit_file", Arg::Str(task.exit_file)),
        ("batch_file", Arg::Str(task.batch_file)),
        ("batch", Arg::Str(&batch)),
        ("task", Arg::Str(task.task)),
        ("user", Arg::Str(&account.user)),
    ];
    action(
        templates::START_TASK_AS_USER
            .render("start the installer detached (scheduled task)", &args),
        vec![Change::InstallerStarted {
            step: step.into(),
            task: task.task.into(),
            command: command_line.into(),
        }],
    )
}

/// Removes the installer's task once its exit code was evaluated (nothing
/// to journal: the task is cu-roll's own plumbing).
pub fn remove_installer_task(task: &InstallerTask) -> Action {
    action(
        templates::REMOVE_TASK.render(
            "remove the installer's scheduled task",
            &[("task", Arg::Str(task.task))],
        ),
        Vec::new(),
    )
}

// ------------------------------------------------------- exit-maintenance

/// Runbook §4.1.
pub fn server_wide_online(server: &str) -> Action {
    action(
        on_server(
            &templates::SERVER_WIDE_ONLINE,
            "ServerWideOffline Active",
            server,
        ),
        vec![component("ServerWideOffline", "Active", MAINTENANCE)],
    )
}

/// Runbook §4.2 (Exchange 2016 only).
pub fn um_call_router_active(server: &str) -> Action {
    action(
        on_server(
            &templates::UM_CALL_ROUTER_ACTIVE,
            "UMCallRouter Active",
            server,
        ),
        vec![component("UMCallRouter", "Active", MAINTENANCE)],
    )
}

/// Runbook §4.3.
pub fn resume_cluster_node(server: &str) -> Action {
    action(
        on_server(
            &templates::RESUME_CLUSTER_NODE,
            "Resume-ClusterNode",
            server,
        ),
        vec![Change::ClusterNodeResumed],
    )
}

/// Runbook §4.4: the activation policy back to `policy`; `from` is the
/// policy it had (Blocked, normally).
pub fn restore_activation_policy(server: &str, policy: &str, from: &str) -> Action {
    action(
        templates::SET_ACTIVATION_POLICY.render(
            "activation policy back to what it was",
            &[("server", Arg::Str(server)), ("policy", Arg::Str(policy))],
        ),
        vec![Change::ActivationPolicy {
            policy: policy.into(),
            from: Some(from.into()),
        }],
    )
}

/// Runbook §4.5.
pub fn move_now_off(server: &str) -> Action {
    action(
        on_server(
            &templates::MOVE_NOW_OFF,
            "DatabaseCopyActivationDisabledAndMoveNow $false",
            server,
        ),
        vec![Change::ActivationDisabledAndMoveNow { value: false }],
    )
}

/// Runbook §4.6: copy `copy` (`DB01\EX02`) resumed.
pub fn resume_copy(copy: &str, replication_only: bool) -> Action {
    let t = if replication_only {
        &templates::RESUME_COPY_REPLICATION_ONLY
    } else {
        &templates::RESUME_COPY
    };
    action(
        t.render("Resume-MailboxDatabaseCopy", &[("copy", Arg::Str(copy))]),
        vec![Change::DatabaseCopyResumed { copy: copy.into() }],
    )
}

/// Runbook §4.7: HubTransport Active ([`restart_transport`] follows).
pub fn hub_transport_active(server: &str) -> Action {
    action(
        on_server(
            &templates::HUB_TRANSPORT_ACTIVE,
            "HubTransport Active",
            server,
        ),
        vec![component("HubTransport", "Active", MAINTENANCE)],
    )
}

/// Runbook §4.8: `component` back to Active under requester Functional.
pub fn clear_functional(server: &str, component_name: &str) -> Action {
    action(
        templates::CLEAR_FUNCTIONAL.render(
            "clear a component left Inactive under requester Functional",
            &[
                ("server", Arg::Str(server)),
                ("component", Arg::Str(component_name)),
            ],
        ),
        vec![component(component_name, "Active", FUNCTIONAL)],
    )
}

// ------------------------------------------------------------ redistribute

/// What the redistribution task's powershell.exe runs for DAG `dag`.
pub fn redistribute_command(dag: &str) -> crate::ps::Script {
    crate::ps::Script::render(
        "RedistributeActiveDatabases.ps1",
        templates::REDISTRIBUTE_COMMAND,
        &[("dag", Arg::Str(dag))],
    )
}

/// Runbook §5: `RedistributeActiveDatabases.ps1` over DAG `dag`, in a
/// scheduled task waited for at most `timeout` (templates::REDISTRIBUTE).
pub fn redistribute(dag: &str, timeout: std::time::Duration) -> Action {
    let command = redistribute_command(dag);
    let encoded = wsman::encoding::encode_command(command.text());
    let timeout_s = i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX);
    action(
        templates::REDISTRIBUTE
            .render(
                "RedistributeActiveDatabases.ps1 -BalanceDbsByActivationPreference (scheduled task)",
                &[
                    ("encoded", Arg::Str(&encoded)),
                    ("timeout_s", Arg::Int(timeout_s)),
                ],
            )
            .with_timeout(timeout.saturating_add(TASK_MARGIN)),
        vec![Change::ActiveDatabasesRedistributed { dag: dag.into() }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Placement;

    /// Windows-level work runs on the server; Exchange cmdlets are the
    /// ones an Exchange session could take.
    #[test]
    fn each_action_carries_where_it_runs() {
        assert_eq!(suspend_cluster_node("EX02").op.placement, Placement::Target);
        assert_eq!(restart_transport().op.placement, Placement::Target);
        assert_eq!(
            restart_computer("reboot-before-setup", "").op.placement,
            Placement::Target
        );
        assert_eq!(move_now_on("EX02").op.placement, Placement::ExchangeSession);
        assert_eq!(
            redirect_messages("EX02", "ex01.contoso.local").op.placement,
            Placement::ExchangeSession
        );
        assert_eq!(
            drain_hub_transport("EX02").op.placement,
            Placement::ExchangeSession
        );
        assert!(!drain_hub_transport("EX02")
            .op
            .script
            .text()
            .contains("Restart-Service"));
    }

    #[test]
    fn an_action_says_what_it_changes() {
        assert_eq!(
            drain_hub_transport("EX02").changes,
            vec![component("HubTransport", "Draining", MAINTENANCE)]
        );
        assert_eq!(restart_transport().changes, vec![transport_restarted()]);
        assert_eq!(
            block_activation("EX02", Some("IntrasiteOnly")).changes,
            vec![Change::ActivationPolicy {
                policy: "Blocked".into(),
                from: Some("IntrasiteOnly".into())
            }]
        );
        assert!(move_cluster_group_off("EX02").changes.is_empty());
    }

    #[test]
    fn the_batch_writes_the_exit_code_even_for_single_digits() {
        let task = InstallerTask {
            task: "cu-roll-setup",
            batch_file: "setup.cmd",
            exit_file: "setup.exitcode",
        };
        assert_eq!(
            batch_text(&task, "\"D:\\Setup.exe\" /Mode:Upgrade"),
            "@echo off\r\n\"D:\\Setup.exe\" /Mode:Upgrade\r\n>\"%SystemDrive%\\cu-roll\\setup.exitcode\" echo %ERRORLEVEL%\r\n"
        );
    }
}
