//! The dry run as a value: per server, in the order a rollout would take,
//! every step and the exact commands it would send. It reads the servers
//! (to choose the order, to leave alone a server where setup is running,
//! and to skip those already at the target) but changes nothing and writes
//! no journal. It owns the runbook knowledge a dry run shows (which steps
//! are gated, that `redistribute = "at-end"` runs once per DAG); it does
//! not render text or print (`report::dry_run` does).

use std::path::PathBuf;

use crate::catalog::ExchangeBuild;
use crate::exec::Executor;
use crate::plan::{Order, Plan, Redistribute, ResolvedTarget, Server};
use crate::runbook::{schedule, PlannedCommand, Step, StepId};

/// What a rollout of the plan would do, server by server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    /// The plan file, as given.
    pub plan: PathBuf,
    /// The target's display name (CU, and SU when there is one).
    pub target_name: String,
    pub target_build: ExchangeBuild,
    /// The plan's ordering policy.
    pub order_policy: Order,
    /// Server names in the order the rollout would take them.
    pub order: Vec<String>,
    /// One entry per name of `order` that the plan knows, in that order.
    pub servers: Vec<ServerDryRun>,
}

/// One server of the dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerDryRun {
    pub name: String,
    pub fqdn: String,
    pub dag: Option<String>,
    pub plan: ServerPlan,
}

/// What the rollout would do on one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerPlan {
    /// Exchange setup is running there now: not queried, because setup
    /// refuses to run beside PowerShell.
    SetupRunning,
    /// Its `ExSetup.exe` is already at the target build or later.
    AlreadyAtTarget,
    /// The steps that apply, in the runbook's order.
    Steps(Vec<PlannedStep>),
}

/// One step of a server's dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedStep {
    /// `redistribute = "at-end"`: rebalanced once for the whole DAG after
    /// its last server, not here.
    RedistributeAtEnd,
    /// A step and the commands it may send.
    Step {
        id: StepId,
        /// The step is taken only after the gate passes (every other DAG
        /// member in service, every database keeps enough healthy copies).
        gated: bool,
        commands: Vec<PlannedCommand>,
    },
}

/// The dry run of `steps` for `plan` and `target`, reading the servers
/// through `exec` (Exchange cmdlets in a session opened with `credential`
/// on a peer where no setup runs).
pub fn plan(
    plan: &Plan,
    target: &ResolvedTarget,
    exec: &dyn Executor,
    credential: &crate::exchange::Credential,
    steps: &[Box<dyn Step>],
) -> DryRun {
    // A server mid-upgrade gets no PowerShell (setup refuses to run beside it).
    let busy: Vec<String> = plan
        .servers
        .iter()
        .filter(|s| crate::exchange::setup_running(exec, s).unwrap_or(false))
        .map(|s| s.name.clone())
        .collect();
    let is_busy = |name: &str| busy.iter().any(|b| b.eq_ignore_ascii_case(name));
    // A busy server serves no Exchange session either.
    let mut reach = crate::exchange::Reach::new(exec, credential, &plan.servers);
    reach.out_of_service = busy.clone();
    let states: Vec<_> = plan
        .servers
        .iter()
        .map(|s| {
            let state = if is_busy(&s.name) {
                None
            } else {
                crate::exchange::exchange_state(&reach, s).ok()
            };
            (s.name.clone(), state)
        })
        .collect();
    let order = schedule::choose_order(plan, &states);
    let servers = order
        .iter()
        .filter_map(|name| plan.server(name))
        .map(|server| ServerDryRun {
            name: server.name.clone(),
            fqdn: server.fqdn.clone(),
            dag: server.dag.clone(),
            plan: if is_busy(&server.name) {
                ServerPlan::SetupRunning
            } else {
                server_plan(plan, target, &reach, steps, server)
            },
        })
        .collect();
    DryRun {
        plan: plan.path.clone(),
        target_name: target.name(),
        target_build: target.build(),
        order_policy: plan.policy.order,
        order,
        servers,
    }
}

/// What the rollout would do on `server`, which is not busy.
fn server_plan(
    plan: &Plan,
    target: &ResolvedTarget,
    reach: &crate::exchange::Reach<'_>,
    steps: &[Box<dyn Step>],
    server: &Server,
) -> ServerPlan {
    let build = crate::exchange::server_facts(reach, server)
        .ok()
        .and_then(|f| f.ex_setup_version)
        .and_then(|v| v.parse::<ExchangeBuild>().ok());
    if build.is_some_and(|b| b >= target.build()) {
        return ServerPlan::AlreadyAtTarget;
    }
    let peers: Vec<&Server> = server
        .dag
        .as_deref()
        .map(|d| {
            plan.dag_members(d)
                .filter(|p| p.name != server.name)
                .collect()
        })
        .unwrap_or_default();
    let planned = steps
        .iter()
        .filter(|s| s.applies(plan, target))
        .map(|step| {
            if step.id() == StepId::Redistribute && plan.policy.redistribute == Redistribute::AtEnd
            {
                return PlannedStep::RedistributeAtEnd;
            }
            PlannedStep::Step {
                id: step.id(),
                gated: gated(step.id()),
                commands: step.scripts(plan, target, server, &peers),
            }
        })
        .collect();
    ServerPlan::Steps(planned)
}

/// The steps the scheduler takes only after the gate passes: it checks the
/// gate before a server leaves service (`schedule::runner`, the same two
/// step ids).
fn gated(id: StepId) -> bool {
    matches!(id, StepId::EnterMaintenance | StepId::RebootBeforeSetup)
}
