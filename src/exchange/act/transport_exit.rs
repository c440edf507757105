//! What ends transport's maintenance besides the HubTransport change and
//! the MSExchangeTransport restart (review real-exchange.md #15): the
//! front-end transport restart and the Submission queue's check. Owns
//! these templates and the typed value the queue check prints; it sends
//! nothing and decides nothing (the exit step does).

use serde::Deserialize;

use super::{action, Action, LONG_COMMAND};
use crate::exchange::Template;
use crate::journal::Change;
use crate::ps::Arg;

/// The front-end transport service of a Mailbox server (Exchange 2016 and
/// later; an Edge server has none).
pub const FRONTEND_TRANSPORT_SERVICE: &str = "MSExchangeFrontEndTransport";

/// How long the Submission queue check waits for Get-Queue to answer
/// after the transport restart: ExchangeDsc's `Enable-SubmissionQueue`
/// allows "up to 5 minutes to return the submission queue".
pub const SUBMISSION_QUEUE_WAIT_S: i64 = 300;

/// After the MSExchangeTransport restart that ends maintenance: the
/// front-end transport service as well. It started at boot while
/// ServerWideOffline was Inactive; community procedures restart it with
/// transport (review real-exchange.md #15: "harmless"; e.g. Michael Van
/// Horenbeeck's `Stop-ExchangeServerMaintenanceMode.ps1`, as published in
/// github.com/SammyKrosoft/Stop-ExchangeServerMaintenanceMode: "restart FE
/// Transport Services if server is also CAS", after MSExchangeTransport),
/// while Microsoft's
/// procedure (Microsoft Learn, "Manage database availability groups in
/// Exchange Server", performing maintenance on DAG members) restarts only
/// MSExchangeTransport. What a front end that started in maintenance does
/// wrong until restarted is UNVERIFIED. A server without the service (an
/// Edge server) skips it; a stopped one is started.
pub const RESTART_FRONTEND_TRANSPORT: Template = template!(
    Target,
    r#"$frontEnd = Get-Service -Name 'MSExchangeFrontEndTransport' -ErrorAction SilentlyContinue
if ($frontEnd) {
    if ($frontEnd.Status -eq 'Running') {
        Restart-Service -Name 'MSExchangeFrontEndTransport'
    } else {
        Start-Service -Name 'MSExchangeFrontEndTransport'
    }
}
"#
);

/// After transport is back: the server's Submission queue must not stay
/// Suspended, or no mail leaves it. ExchangeDsc's transport maintenance
/// does this after every start (`source/DSCResources/DSC_ExchMaintenanceMode/TransportMaintenance.psm1`,
/// `Set-TransportActive` calls `Enable-SubmissionQueue`: `Get-Queue
/// "$env:COMPUTERNAME\Submission"`, polled every 10 s for up to 5 minutes
/// while transport starts, and `Resume-Queue … -confirm:$false` when its
/// `Status` is `Suspended`). Prints the status found and whether it was
/// resumed, as one JSON object ([`SubmissionQueueCheck`]).
pub const SUBMISSION_QUEUE: Template = template!(
    ExchangeSession,
    r#"$id = {{queue}}
$queue = $null
$waited = 0
while ($null -eq $queue) {
    try {
        $queue = Get-Queue -Identity $id -ErrorAction Stop
    } catch {
        if ($waited -ge {{wait_s}}) { throw ('Get-Queue ' + $id + ' does not answer after ' + $waited + ' seconds: ' + $_.Exception.Message) }
        Start-Sleep -Seconds 10
        $waited += 10
    }
}
$status = $queue.Status.ToString()
$resumed = $false
if ($status -eq 'Suspended') {
    Resume-Queue -Identity $id -Confirm:$false
    $resumed = $true
}
[pscustomobject]@{ Status = $status; Resumed = $resumed } | ConvertTo-Json -Compress
"#
);

/// What [`SUBMISSION_QUEUE`] prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubmissionQueueCheck {
    pub status: String,
    pub resumed: bool,
}

/// The front-end transport restart ([`RESTART_FRONTEND_TRANSPORT`]). It
/// changes nothing cu-roll undoes: no journal record.
pub fn restart_frontend_transport() -> Action {
    action(
        RESTART_FRONTEND_TRANSPORT
            .render(
                "restart MSExchangeFrontEndTransport (it started while the server was offline)",
                &[],
            )
            .with_timeout(LONG_COMMAND),
        // Journaled so that a run stopped between the transport restart
        // and this one makes it on resume (`undo::frontend_restart_pending`).
        vec![Change::ServiceRestarted {
            service: FRONTEND_TRANSPORT_SERVICE.into(),
        }],
    )
}

/// The Submission queue of `server` checked, and resumed when Suspended
/// ([`SUBMISSION_QUEUE`]). Resuming is not undone: no journal record.
pub fn resume_submission_queue(server: &str) -> Action {
    let queue = format!("{server}\\Submission");
    action(
        SUBMISSION_QUEUE
            .render(
                "the Submission queue: resumed if Suspended",
                &[
                    ("queue", Arg::Str(&queue)),
                    ("wait_s", Arg::Int(SUBMISSION_QUEUE_WAIT_S)),
                ],
            )
            .with_timeout(LONG_COMMAND),
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Placement;

    #[test]
    fn the_queue_check_runs_in_a_session_and_the_restart_on_the_server() {
        let q = resume_submission_queue("EX02");
        assert_eq!(q.op.placement, Placement::ExchangeSession);
        assert!(q.op.script.text().contains("'EX02\\Submission'"));
        assert!(q.op.script.text().contains("Resume-Queue -Identity $id"));
        let r = restart_frontend_transport();
        assert_eq!(r.op.placement, Placement::Target);
        assert!(r.op.script.text().contains(FRONTEND_TRANSPORT_SERVICE));
    }

    #[test]
    fn the_check_prints_status_and_resumed() {
        let c: SubmissionQueueCheck =
            serde_json::from_str(r#"{"Status":"Suspended","Resumed":true}"#).unwrap();
        assert_eq!(
            c,
            SubmissionQueueCheck {
                status: "Suspended".into(),
                resumed: true
            }
        );
    }
}
