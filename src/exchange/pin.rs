//! One domain controller per server per run (review real-exchange.md #23):
//! every Exchange operation about a server that writes or reads back an
//! AD-held setting of it (component states, the activation policy and
//! MoveNow: the templates' `DC_MARKER`s) is sent with `-DomainController`
//! naming the same controller, so a verification reads its own write
//! instead of another controller that replication has not reached yet
//! (Microsoft Learn, KB 214678: a change reaches intra-site partners
//! after 15 seconds by default; each cmdlet's `-DomainController`
//! "specifies the domain controller that's used by this cmdlet to read
//! data from or write data to Active Directory").
//!
//! The choice: the first of the server's `CurrentDomainControllers`
//! (`Get-ExchangeServer -Status`: the controllers its AD topology service
//! uses, which it picks in the server's own site), else the peer's (a
//! server that is down answers no `-Status`). A controller that stops
//! answering gives way to the next candidate, said in the log. This module
//! keeps the choices and reads the candidates; it decides nothing about
//! the rollout.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use serde::Deserialize;

use super::query::{one_or_many, query};
use super::{ExecError, Operation, QueryError, Reach};
use crate::exec::ExecOutput;
use crate::plan::Server;
use crate::ps::Arg;

/// The controllers chosen in this run, per server (shared by every
/// [`Reach`] of the run).
#[derive(Debug, Default)]
pub struct DomainControllers {
    chosen: Mutex<BTreeMap<String, Choice>>,
}

#[derive(Debug, Clone)]
struct Choice {
    candidates: Vec<String>,
    current: usize,
}

impl DomainControllers {
    fn key(server: &str) -> String {
        server.to_ascii_lowercase()
    }

    /// The controller `server`'s operations are pinned to, if chosen.
    pub fn current(&self, server: &str) -> Option<String> {
        let chosen = self.chosen.lock().unwrap_or_else(PoisonError::into_inner);
        let c = chosen.get(&Self::key(server))?;
        c.candidates.get(c.current).cloned()
    }

    /// Whether a choice was made for `server` (even an empty one).
    pub fn has_choice(&self, server: &str) -> bool {
        self.chosen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&Self::key(server))
    }

    /// Records `candidates` for `server` and pins the first; returns it.
    pub fn choose(&self, server: &str, candidates: Vec<String>) -> Option<String> {
        let first = candidates.first().cloned();
        self.chosen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                Self::key(server),
                Choice {
                    candidates,
                    current: 0,
                },
            );
        first
    }

    /// `failed` stopped answering for `server`: the next candidate, now
    /// pinned, or `None` when none is left (the last one stays pinned).
    pub fn next_after(&self, server: &str, failed: &str) -> Option<String> {
        let mut chosen = self.chosen.lock().unwrap_or_else(PoisonError::into_inner);
        let c = chosen.get_mut(&Self::key(server))?;
        if !c
            .candidates
            .get(c.current)
            .is_some_and(|d| d.eq_ignore_ascii_case(failed))
        {
            // Another operation moved on already.
            return c.candidates.get(c.current).cloned();
        }
        let next = c.current + 1;
        let dc = c.candidates.get(next)?.clone();
        c.current = next;
        Some(dc)
    }
}

/// What [`DOMAIN_CONTROLLERS`] prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DomainControllersObs {
    /// The server whose list it is (the target, or the peer).
    pub from: String,
    #[serde(default, deserialize_with = "one_or_many")]
    pub domain_controllers: Vec<String>,
}

/// The domain controllers `{{server}}` uses (`CurrentDomainControllers`,
/// Microsoft Learn Get-ExchangeServer: domain controller information
/// needs `-Status`), else those of the peer the session runs on
/// (`$env:COMPUTERNAME`: the body runs in the peer's local powershell.exe).
const DOMAIN_CONTROLLERS: super::Template = template!(
    ExchangeSession,
    r#"$server = {{server}}
$from = $server
$dcs = @((Get-ExchangeServer -Identity $server -Status).CurrentDomainControllers | ForEach-Object { [string]$_ })
if ($dcs.Count -eq 0) {
    $from = $env:COMPUTERNAME
    $dcs = @((Get-ExchangeServer -Identity $from -Status).CurrentDomainControllers | ForEach-Object { [string]$_ })
}
[pscustomobject]@{ From = $from; DomainControllers = $dcs } | ConvertTo-Json -Compress
"#
);

/// The read [`choose_for`] sends (also what the dry run shows).
pub fn read_domain_controllers(server: &str) -> Operation {
    DOMAIN_CONTROLLERS.render(
        "the domain controllers the server uses (to pin its AD writes and reads)",
        &[("server", Arg::Str(server))],
    )
}

/// Reads `server`'s candidates and pins the first in `reach`'s choices;
/// returns what was read. An Edge server is never pinned (it keeps its
/// settings in its own AD LDS).
pub fn choose_for(
    reach: &Reach<'_>,
    server: &Server,
) -> Result<Option<DomainControllersObs>, QueryError> {
    let Some(pins) = reach.pins.as_deref() else {
        return Ok(None);
    };
    if server.is_edge() {
        return Ok(None);
    }
    let seen: DomainControllersObs = query(reach, server, &read_domain_controllers(&server.name))?;
    pins.choose(&server.name, seen.domain_controllers.clone());
    Ok(Some(seen))
}

/// Chooses `server`'s controller once per run, before the first step
/// about it, and logs the choice (or why there is none: then its
/// operations go unpinned, and the next step tries again).
pub fn ensure_chosen(reach: &Reach<'_>, server: &Server) {
    let Some(pins) = reach.pins.as_deref() else {
        return;
    };
    if server.is_edge() || pins.has_choice(&server.name) {
        return;
    }
    match choose_for(reach, server) {
        Ok(Some(seen)) => match pins.current(&server.name) {
            Some(dc) => tracing::info!(
                target: "cu_roll::run",
                server = %server.name,
                dc = %dc,
                "domain controller {dc} pinned for {}'s AD writes and their verification (CurrentDomainControllers of {}: {})",
                server.name,
                seen.from,
                seen.domain_controllers.join(", ")
            ),
            None => tracing::warn!(
                target: "cu_roll::run",
                server = %server.name,
                "no domain controller listed for {} (Get-ExchangeServer -Status on {}): its operations are not pinned",
                server.name,
                seen.from
            ),
        },
        Ok(None) => {}
        Err(e) => tracing::warn!(
            target: "cu_roll::run",
            server = %server.name,
            "cannot read the domain controllers of {}: {e}; not pinned for now",
            server.name
        ),
    }
}

/// Whether `out` failed because its domain controller did not answer
/// (Exchange's AD driver: "An Active Directory error 0x51 occurred when
/// trying to check the suitability of server …"; "The LDAP server is
/// unavailable"). That a cmdlet given `-DomainController` for a controller
/// that is down writes exactly this is UNVERIFIED.
fn dc_unreachable(out: &ExecOutput) -> bool {
    !out.success()
        && (out.stderr.contains("suitability of server")
            || out.stderr.contains("LDAP server is unavailable"))
}

/// Sends the `ExchangeSession` operation `op` about `server` through
/// `send`, pinned to `server`'s controller when one is chosen; when that
/// controller does not answer, pins the next candidate (logged) and sends
/// once more.
pub(super) fn send_pinned(
    reach: &Reach<'_>,
    server: &Server,
    op: &Operation,
    send: impl Fn(&Operation) -> Result<ExecOutput, ExecError>,
) -> Result<ExecOutput, ExecError> {
    let pins = reach.pins.as_deref().filter(|_| op.pinnable());
    let Some(dc) = pins.and_then(|p| p.current(&server.name)) else {
        return send(&op.pinned(None));
    };
    let out = send(&op.pinned(Some(&dc)))?;
    if !dc_unreachable(&out) {
        return Ok(out);
    }
    let Some(next) = pins.and_then(|p| p.next_after(&server.name, &dc)) else {
        return Ok(out);
    };
    tracing::warn!(
        target: "cu_roll::run",
        server = %server.name,
        failed = %dc,
        next = %next,
        "domain controller {dc} did not answer for {}: {} pinned to {next} from now on",
        op.script.purpose,
        server.name
    );
    send(&op.pinned(Some(&next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_candidate_is_pinned_and_a_failed_one_gives_way_to_the_next() {
        let pins = DomainControllers::default();
        assert_eq!(pins.current("EX02"), None);
        assert!(!pins.has_choice("EX02"));
        let chosen = pins.choose(
            "EX02",
            vec!["dc02.contoso.local".into(), "dc01.contoso.local".into()],
        );
        assert_eq!(chosen.as_deref(), Some("dc02.contoso.local"));
        assert_eq!(pins.current("ex02").as_deref(), Some("dc02.contoso.local"));
        assert_eq!(
            pins.next_after("EX02", "dc02.contoso.local").as_deref(),
            Some("dc01.contoso.local")
        );
        // A second failure report about the controller already replaced.
        assert_eq!(
            pins.next_after("EX02", "dc02.contoso.local").as_deref(),
            Some("dc01.contoso.local")
        );
        assert_eq!(pins.next_after("EX02", "dc01.contoso.local"), None);
        assert_eq!(pins.current("EX02").as_deref(), Some("dc01.contoso.local"));
    }

    /// Sending a parameter a cmdlet does not have fails (in the lab as on
    /// a server): the marker stands only after cmdlets Microsoft Learn
    /// documents `-DomainController` for, and only on Exchange cmdlets
    /// that read or write the settings this module pins.
    #[test]
    fn the_marker_follows_only_cmdlets_that_take_domain_controller() {
        const HAVE_IT: &[&str] = &[
            "Set-ServerComponentState",
            "Get-ServerComponentState",
            "Set-MailboxServer",
            "Get-MailboxServer",
        ];
        let sources = [
            include_str!("act/templates.rs"),
            include_str!("observe/templates.rs"),
        ];
        let mut seen = 0;
        for line in sources.iter().flat_map(|s| s.lines()) {
            let Some(at) = line.find(super::super::DC_MARKER) else {
                continue;
            };
            if line.trim_start().starts_with("//") {
                continue;
            }
            let before = &line[..at];
            let cmdlet = super::super::exchange_cmdlets_in(before);
            assert_eq!(cmdlet.len(), 1, "{line}");
            assert!(HAVE_IT.contains(&cmdlet[0]), "{line}");
            seen += 1;
        }
        assert_eq!(seen, 13, "11 writes and the two verifying reads");
    }

    #[test]
    fn a_pinned_operation_names_its_controller_and_an_unpinned_one_nothing() {
        let op = crate::exchange::act::block_activation("EX02", None).op;
        assert!(op.pinnable());
        let pinned = op.pinned(Some("dc02.contoso.local"));
        assert_eq!(
            pinned.script.text(),
            "Set-MailboxServer -Identity 'EX02' -DatabaseCopyAutoActivationPolicy 'Blocked' -DomainController 'dc02.contoso.local'\n"
        );
        assert!(!pinned.pinnable());
        assert_eq!(
            op.pinned(None).script.text(),
            "Set-MailboxServer -Identity 'EX02' -DatabaseCopyAutoActivationPolicy 'Blocked'\n"
        );
        let sent = op.session_script("ex01.contoso.local", "CONTOSO\\admin");
        assert!(!sent.text().contains("DomainController"), "{sent}");
        let state = crate::exchange::observe::read_exchange_state("EX02").pinned(Some("dc01"));
        assert!(lab::pwsh::syntax_check(state.shown().text()).is_ok());
        let dag = crate::exchange::observe::read_dag_state(&["EX01"], "DAG01", &[]);
        assert!(!dag.pinnable(), "the DAG-wide read is never pinned");
    }

    #[test]
    fn the_read_is_an_exchange_session_body_the_lab_parses() {
        let op = read_domain_controllers("EX02");
        assert_eq!(op.placement, super::super::Placement::ExchangeSession);
        assert!(op
            .script
            .text()
            .contains("Get-ExchangeServer -Identity $server -Status"));
        assert!(lab::pwsh::syntax_check(op.shown().text()).is_ok());
    }
}
