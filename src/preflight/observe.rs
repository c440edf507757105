//! The pre-flight's reads of every server, all at once: which servers
//! answer cmd and run no setup (the candidate Exchange peers), then each
//! server's facts, state, and, below the target, its media and
//! certificates. Judging what was read is `preflight`'s; nothing here
//! decides or changes anything.

use super::{certs, checks, media};
use crate::exchange::{self, ExchangeState, QueryError, ServerFacts};
use crate::exec::Executor;
use crate::plan::{Plan, ResolvedTarget, Server};

/// How many servers are queried at once (`pool::PREFLIGHT_FAN_OUT`).
const MAX_CONCURRENT_QUERIES: usize = crate::pool::PREFLIGHT_FAN_OUT;

/// What was read from one server.
pub(super) struct Observed {
    pub(super) facts: Result<ServerFacts, QueryError>,
    pub(super) state: Result<ExchangeState, QueryError>,
    /// The media check, on servers below the target only.
    pub(super) media: Option<Result<media::MediaObs, QueryError>>,
    /// The certificates, on servers below the target only.
    pub(super) certs: Option<certs::CertsObs>,
}

/// The servers that answer cmd and run no setup are the candidate peers;
/// cmd only, so a server mid-upgrade gets no PowerShell. Also returns what
/// each server answered (`None`: it did not), which `observe` uses rather
/// than asking again.
pub(super) fn reachable<'a>(
    plan: &'a Plan,
    exec: &'a dyn Executor,
    credential: &'a exchange::Credential,
) -> (exchange::Reach<'a>, Vec<Option<bool>>) {
    let busy = crate::pool::for_each_bounded(&plan.servers, MAX_CONCURRENT_QUERIES, |server| {
        exchange::setup_running(exec, server).ok()
    });
    let mut reach = exchange::Reach::new(exec, credential, &plan.servers);
    reach.out_of_service = plan
        .servers
        .iter()
        .zip(&busy)
        .filter(|(_, busy)| busy.unwrap_or(true))
        .map(|(s, _)| s.name.clone())
        .collect();
    (reach, busy)
}

pub(super) fn observe_all(
    plan: &Plan,
    reach: &exchange::Reach<'_>,
    target: &ResolvedTarget,
    busy: &[Option<bool>],
) -> Vec<Observed> {
    let servers: Vec<(&Server, bool)> = plan
        .servers
        .iter()
        .zip(busy)
        .map(|(s, b)| (s, b.unwrap_or(false)))
        .collect();
    crate::pool::for_each_bounded(&servers, MAX_CONCURRENT_QUERIES, |(server, busy)| {
        observe(plan, reach, target, server, *busy)
    })
}

/// Everything the report needs from one server.
fn observe(
    plan: &Plan,
    reach: &exchange::Reach<'_>,
    target: &ResolvedTarget,
    server: &Server,
    setup_running: bool,
) -> Observed {
    // A server mid-upgrade gets no PowerShell at all: setup would refuse to
    // go on beside it (`reachable` asked it, with cmd only).
    if setup_running {
        let busy = || QueryError::SetupRunning {
            server: server.name.clone(),
        };
        return Observed {
            media: None,
            certs: None,
            facts: Err(busy()),
            state: Err(busy()),
        };
    }
    let facts = exchange::server_facts(reach, server);
    // Media matter only where something will be installed.
    let below = facts.as_ref().ok().is_some_and(|f| {
        f.build()
            .is_some_and(|b| checks::setup_pending(f, b, target.build()).is_some())
    });
    Observed {
        media: below.then(|| media::observe_media(reach, plan, server)),
        certs: below.then(|| certs::observe(reach, server)),
        facts,
        state: exchange::exchange_state(reach, server),
    }
}
