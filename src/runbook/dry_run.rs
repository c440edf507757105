//! The dry run as a value: per server, in the order a rollout would take,
//! every step, what it is for, how long it may take, and the exact
//! commands it would send. It is also the plan view `run` shows before it
//! asks to go on. It reads the servers (to choose the order, to leave
//! alone a server where setup is running, and to skip those already at the
//! target) and the journal (a resumed rollout keeps its order and does not
//! repeat what is done), but changes nothing and writes nothing. It owns
//! the runbook knowledge a dry run shows (which steps are gated, that
//! `redistribute = "at-end"` runs once per DAG, each step's intent and
//! typical duration); it does not render text or print (`report::dry_run`
//! does).

use std::path::PathBuf;
use std::time::Duration;

use crate::catalog::ExchangeBuild;
use crate::exec::Executor;
use crate::plan::{Order, Plan, Redistribute, ResolvedTarget, Selection, Server};
use crate::runbook::{schedule, JournalState, PlannedCommand, Step, StepId};

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
    /// The journal holds an unfinished rollout: this resumes it (its order
    /// is kept, its finished servers and steps are not repeated).
    pub resumes: bool,
    /// The journal holds a finished rollout: its servers are judged by what
    /// they are now (a run with nothing below the target does nothing).
    pub after_finished: bool,
    /// `min_healthy_copies` of the plan, shown with the gates.
    pub min_healthy_copies: Option<u32>,
    pub max_parallel_dags: u32,
    pub pause_between: bool,
    /// `--only`/`--exclude` as the command line would say it, when the run
    /// rolls only some servers (`None`: every server).
    pub selection: Option<String>,
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
    /// The journal records it finished in this rollout.
    DoneInJournal,
    /// `--only`/`--exclude` leave it out of this run (the gates still
    /// count it as a DAG member).
    LeftOut,
    /// The steps still to take, in the runbook's order (`done` of them
    /// finished in an earlier run of this rollout and are not listed).
    Steps {
        steps: Vec<PlannedStep>,
        done: usize,
    },
}

impl ServerPlan {
    /// True when the rollout would change this server.
    pub fn rolls(&self) -> bool {
        matches!(self, ServerPlan::Steps { .. })
    }

    /// The expected time for what is left on this server.
    pub fn estimate(&self) -> Duration {
        match self {
            ServerPlan::Steps { steps, .. } => steps
                .iter()
                .filter_map(|s| match s {
                    PlannedStep::Step { estimate, .. } => Some(*estimate),
                    PlannedStep::RedistributeAtEnd => None,
                })
                .sum(),
            _ => Duration::ZERO,
        }
    }
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
        /// What the step is for, in one line.
        intent: &'static str,
        /// Its typical duration, at most the plan's timeout for its wait.
        estimate: Duration,
        commands: Vec<PlannedCommand>,
    },
}

impl DryRun {
    /// The servers the rollout would change, in order.
    pub fn rolled(&self) -> Vec<&str> {
        self.servers
            .iter()
            .filter(|s| s.plan.rolls())
            .map(|s| s.name.as_str())
            .collect()
    }

    /// The expected duration of the whole rollout: the members of a DAG
    /// one after another, DAGs side by side up to `max_parallel_dags`
    /// (approximated as the sum divided over the workers, never less than
    /// the longest DAG).
    pub fn estimate(&self) -> Duration {
        let mut per_dag: Vec<(Option<&str>, Duration)> = Vec::new();
        for s in &self.servers {
            let key = s.dag.as_deref();
            match per_dag.iter_mut().find(|(d, _)| *d == key && d.is_some()) {
                Some((_, total)) => *total += s.plan.estimate(),
                None => per_dag.push((key, s.plan.estimate())),
            }
        }
        let sum: Duration = per_dag.iter().map(|(_, d)| *d).sum();
        let longest = per_dag.iter().map(|(_, d)| *d).max().unwrap_or_default();
        let workers = self.max_parallel_dags.max(1);
        (sum / workers).max(longest)
    }
}

/// What a dry run is made of: the plan, the target, the servers as
/// `exec` reaches them, and what the run would select.
pub struct Inputs<'a> {
    pub plan: &'a Plan,
    pub target: &'a ResolvedTarget,
    /// Reads the servers (Exchange cmdlets in a session opened with
    /// `credential` on a peer where no setup runs).
    pub exec: &'a dyn Executor,
    pub credential: &'a crate::exchange::Credential,
    pub steps: &'a [Box<dyn Step>],
    /// `--only`/`--exclude`: the servers left out are shown as not rolled.
    pub selection: &'a Selection,
    /// The pre-flight's reading, which the dry run starts from while fresh.
    pub observed: Option<&'a crate::exchange::observe::StartObservation>,
}

/// The dry run of `of`'s steps against `journal`, reading the servers
/// through `of.exec`, or from the pre-flight's reading (`of.observed`)
/// while fresh.
pub fn plan(of: &Inputs<'_>, journal: &JournalState) -> DryRun {
    let Inputs {
        plan,
        target,
        exec,
        credential,
        steps,
        selection,
        observed,
    } = *of;
    // A finished rollout is history: a run judges the servers as they are
    // now, and starts a new rollout for any below the target.
    let after_finished = journal.finished_ok;
    let fresh = JournalState::default();
    let journal = if after_finished { &fresh } else { journal };
    // The pre-flight's reading while fresh, rather than a second one.
    let seen = observed.and_then(crate::exchange::observe::StartObservation::fresh);
    // A server mid-upgrade gets no PowerShell (setup refuses to run beside it).
    let busy: Vec<String> = match seen {
        Some(o) => o.busy.clone(),
        None => plan
            .servers
            .iter()
            .filter(|s| crate::exchange::setup_running(exec, s).unwrap_or(false))
            .map(|s| s.name.clone())
            .collect(),
    };
    let is_busy = |name: &str| busy.iter().any(|b| b.eq_ignore_ascii_case(name));
    // A busy server serves no Exchange session either.
    let mut reach = crate::exchange::Reach::new(exec, credential, &plan.servers);
    reach.out_of_service = busy.clone();
    let states: Vec<_> = match seen {
        Some(o) => o.states.clone(),
        None => plan
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
            .collect(),
    };
    // A resumed rollout keeps the order its first run chose.
    let order = if journal.order.is_empty() {
        schedule::choose_order(plan, &states)
    } else {
        journal.order.clone()
    };
    let servers = order
        .iter()
        .filter_map(|name| plan.server(name))
        .map(|server| ServerDryRun {
            name: server.name.clone(),
            fqdn: server.fqdn.clone(),
            dag: server.dag.clone(),
            plan: if !selection.includes(&server.name) {
                ServerPlan::LeftOut
            } else if journal.server_done(&server.name) {
                ServerPlan::DoneInJournal
            } else if is_busy(&server.name) {
                ServerPlan::SetupRunning
            } else {
                server_plan(plan, target, &reach, steps, server, journal)
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
        resumes: journal.fingerprint.is_some(),
        after_finished,
        min_healthy_copies: plan.policy.min_healthy_copies,
        max_parallel_dags: plan.policy.max_parallel_dags,
        pause_between: plan.policy.pause_between,
        selection: (!selection.is_all()).then(|| selection.describe()),
    }
}

/// What the rollout would do on `server`, which is not busy.
fn server_plan(
    plan: &Plan,
    target: &ResolvedTarget,
    reach: &crate::exchange::Reach<'_>,
    steps: &[Box<dyn Step>],
    server: &Server,
    journal: &JournalState,
) -> ServerPlan {
    // A server the rollout has in progress is resumed, whatever its build
    // (it may be past setup, with maintenance still to undo).
    if !journal.server_in_progress(&server.name) {
        let build = crate::exchange::server_facts(reach, server)
            .ok()
            .and_then(|f| f.ex_setup_version)
            .and_then(|v| v.parse::<ExchangeBuild>().ok());
        if build.is_some_and(|b| b >= target.build()) {
            return ServerPlan::AlreadyAtTarget;
        }
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
    let applying: Vec<&Box<dyn Step>> = steps.iter().filter(|s| s.applies(plan, target)).collect();
    let done = applying
        .iter()
        .filter(|s| journal.step_done(&server.name, s.id().id()))
        .count();
    let mut planned: Vec<PlannedStep> = applying
        .into_iter()
        .filter(|s| !journal.step_done(&server.name, s.id().id()))
        .map(|step| {
            if step.id() == StepId::Redistribute && plan.policy.redistribute == Redistribute::AtEnd
            {
                return PlannedStep::RedistributeAtEnd;
            }
            PlannedStep::Step {
                id: step.id(),
                gated: gated(step.id()),
                intent: intent(step.id()),
                estimate: estimate(step.id(), plan),
                commands: for_target(step.scripts(plan, target, server, &peers), target),
            }
        })
        .collect();
    // Before the first step the run chooses the server's domain controller
    // (exchange::pin); an Edge server keeps its settings in its own AD LDS.
    let first = planned.iter_mut().find_map(|p| match p {
        PlannedStep::Step { commands, .. } => Some(commands),
        PlannedStep::RedistributeAtEnd => None,
    });
    if let (Some(commands), false) = (first, server.is_edge()) {
        commands.insert(
            0,
            PlannedCommand::ps(
                "before the server's first step: the domain controllers it uses (the first is pinned for its AD writes and the reads that verify them; cu-roll.log names it)",
                &crate::exchange::pin::read_domain_controllers(&server.name),
            ),
        );
    }
    ServerPlan::Steps {
        steps: planned,
        done,
    }
}

/// Leaves out the commands the runbook sends only to a version the
/// target is not (today: Exchange 2016's UMCallRouter), so the scripts
/// shown are the ones this rollout may send.
fn for_target(commands: Vec<PlannedCommand>, target: &ResolvedTarget) -> Vec<PlannedCommand> {
    // Exchange 2016 is 15.1; 2019 and Subscription Edition are 15.2.
    let is_2016 = target.build().major == 15 && target.build().minor == 1;
    commands
        .into_iter()
        .filter(|c| is_2016 || !c.when.starts_with("Exchange 2016"))
        .collect()
}

/// What a step is for, in one line.
pub fn intent(id: StepId) -> &'static str {
    match id {
        StepId::BackupConfig => "save the config files a CU overwrites into a verified zip on this machine",
        StepId::EnterMaintenance => "drain transport, pause the cluster node, move active databases off, block activation, take the server offline (StartDagServerMaintenance.ps1's steps)",
        StepId::RebootBeforeSetup => "restart, so setup starts without a pending reboot",
        StepId::Setup => "run Setup.exe /Mode:Upgrade as a scheduled task and wait for its exit code",
        StepId::SecurityUpdate => "install the security update (.msp) the same way, restarting first if one is pending",
        StepId::RebootAfterSetup => "restart after the upgrade",
        StepId::ExitMaintenance => "undo cu-roll's own maintenance changes and put the old activation policy back (StopDagServerMaintenance.ps1's steps)",
        StepId::Redistribute => "move active databases back by activation preference (RedistributeActiveDatabases.ps1)",
        StepId::Health => "check services, replication and copies are healthy at the target build",
        StepId::PrepareAd => "prepare Active Directory (Setup.exe /PrepareSchema, /PrepareAD, /PrepareAllDomains)",
        StepId::PrepareAdSu => "prepare the domains for the level the security update raises, from the installed Bin\\Setup.exe /PrepareAllDomains",
    }
}

/// A step's expected duration: a typical figure, capped by the plan's
/// timeout for the wait that bounds it (a wait that runs longer stops the
/// rollout, so the step cannot take longer). The typical figures are
/// UNVERIFIED estimates, except setup: Microsoft's guidance for a CU is
/// about three hours per server (docs/plan.md, `timeouts.setup`).
pub fn estimate(id: StepId, plan: &Plan) -> Duration {
    let t = &plan.policy.timeouts;
    let minutes = |m: u64| Duration::from_secs(m * 60);
    match id {
        StepId::BackupConfig => minutes(1),
        StepId::EnterMaintenance => minutes(10).min(t.drain + t.move_databases),
        StepId::RebootBeforeSetup | StepId::RebootAfterSetup => minutes(10).min(t.reboot),
        StepId::Setup => minutes(180).min(t.setup),
        StepId::SecurityUpdate => minutes(20).min(t.setup),
        StepId::ExitMaintenance => minutes(5).min(t.health),
        StepId::Redistribute => minutes(5).min(t.move_databases),
        StepId::Health => minutes(5).min(t.health),
        StepId::PrepareAd | StepId::PrepareAdSu => minutes(30).min(t.setup),
    }
}

/// The steps the scheduler takes only after the gate passes: it checks the
/// gate before a server leaves service (`schedule::runner`, the same two
/// step ids).
fn gated(id: StepId) -> bool {
    matches!(id, StepId::EnterMaintenance | StepId::RebootBeforeSetup)
}
