//! `cu-roll bench`: the performance figures of docs/performance.md, one
//! line each, measured on generated lab worlds. The lab is served over
//! WinRM inside this process (so its per-call costs and counters are at
//! hand); the orchestrator runs as a child `cu-roll run|report` and is
//! measured alone (`measure`). Rollout durations are real estimates divided
//! by `--scale` (`fleet::REAL_WORK`, `lab::CallCosts::REALISTIC`), so
//! makespan ÷ bound is a real-time ratio and seconds × scale are real
//! seconds; the pre-flight figure runs at its stated latency, unscaled.
//! Figures, not pass/fail: nothing here judges a target.

use std::path::Path;
use std::time::Duration;

use crate::cli::BenchArgs;
use crate::error::Error;
use crate::exit::Outcome;

mod fleet;
mod measure;

/// One line of figures on stdout, flushed (a closed pipe is an error, not a panic).
macro_rules! say {
    ($($t:tt)*) => {
        super::output::stdout(&format!("{}\n", format_args!($($t)*)))?
    };
}

mod preflight;

use fleet::Fleet;
use measure::Usage;

/// The sizes one bench measures.
struct Sizes {
    dags: usize,
    members: usize,
    /// Members per DAG below the target.
    upgraded: usize,
    preflight_servers: usize,
    /// Latency per HTTP request of the pre-flight figure, ms.
    preflight_latency_ms: u64,
    /// `Fleet::poll_floor_ms`.
    poll_floor_ms: u64,
    /// `--scale` when not given.
    scale: u32,
}

const FULL: Sizes = Sizes {
    dags: 4,
    members: 4,
    upgraded: 4,
    preflight_servers: 200,
    preflight_latency_ms: 50,
    poll_floor_ms: 10,
    scale: 300,
};

/// `--quick`: the same lines on a tiny estate (for a test, or a first look),
/// but figure 5, whose two rollouts (11 members) are `--calls` and its test.
const QUICK: Sizes = Sizes {
    dags: 2,
    members: 2,
    upgraded: 1,
    preflight_servers: 4,
    preflight_latency_ms: 5,
    poll_floor_ms: 100,
    scale: 6000,
};

pub fn run(args: &BenchArgs) -> Result<Outcome, Error> {
    let sizes = if args.quick { &QUICK } else { &FULL };
    let scale = args.scale.unwrap_or(sizes.scale).max(1);
    let mut dir =
        tempfile::tempdir().map_err(|e| bench_error("cannot make a scratch directory", &e))?;
    if args.keep {
        dir.disable_cleanup(true);
        say!("bench: keeping {}", dir.path().display());
    }
    say!(
        "bench: rollout durations are real estimates / {scale} (lab timings, per-call costs, poll interval); \
         ratios are real-time ratios, seconds x {scale} are real seconds"
    );
    if args.calls {
        calls_figure(&dir.path().join("calls"))?;
        return Ok(Outcome::Done);
    }
    let r = lab::CallCosts::REALISTIC;
    let per = |ms: i64| u64::try_from(ms).unwrap_or(0) / u64::from(scale);
    let costs = [
        per(r.call_latency_ms),
        per(r.powershell_start_ms),
        per(r.exchange_session_ms),
        per(r.import_session_ms),
    ];
    let mut footprint = Vec::new();
    let mut parallel = None;
    let rows: &[usize] = if args.report {
        &[]
    } else if args.makespan || args.preflight {
        &[sizes.dags]
    } else {
        &[1, sizes.dags]
    };
    for &max_parallel in rows {
        let fleet = Fleet {
            dags: sizes.dags,
            members: sizes.members,
            upgraded: sizes.upgraded,
            scale,
            max_parallel_dags: max_parallel,
            costs_ms: costs,
            poll_floor_ms: sizes.poll_floor_ms,
        };
        let sub = dir.path().join(format!("rollout-{max_parallel}"));
        let (usage, counts) = served(&fleet, &sub, &["run", "--yes"])?;
        let bound = Duration::from_millis(fleet.bound_ms());
        say!(
            "1. makespan/bound, {} DAGs x {} members ({} upgraded each), max_parallel_dags {max_parallel}: {:.1} s / {:.1} s = {:.2}{}",
            sizes.dags,
            sizes.members,
            sizes.upgraded,
            usage.wall.as_secs_f64(),
            bound.as_secs_f64(),
            usage.wall.as_secs_f64() / bound.as_secs_f64(),
            failed(&usage)
        );
        if max_parallel == sizes.dags {
            footprint.push((format!("{}x{} rollout", sizes.dags, sizes.members), usage));
            parallel = Some((counts, sizes.dags * sizes.upgraded));
        }
    }
    if args.makespan {
        return Ok(Outcome::Done);
    }
    let pre = preflight::measure(sizes, &dir.path().join("preflight"))?;
    say!("{}", preflight::line(sizes, &pre));
    if let Some((c, servers)) = parallel.filter(|_| !args.preflight) {
        let n = servers as f64;
        say!(
            "3. per upgraded server in the {}x{} rollout: {:.0} calls, {:.1} powershell.exe starts, {:.1} Exchange sessions, {:.1} Import-PSSession, {:.0} HTTP requests, {:.0} KiB sent + {:.0} KiB received by the orchestrator",
            sizes.dags,
            sizes.members,
            c.calls as f64 / n,
            c.powershell_starts as f64 / n,
            c.sessions as f64 / n,
            c.imports as f64 / n,
            c.requests as f64 / n,
            c.bytes_in as f64 / n / 1024.0,
            c.bytes_out as f64 / n / 1024.0
        );
    }
    footprint.insert(
        0,
        (
            format!("{}-server report", sizes.preflight_servers),
            pre.all,
        ),
    );
    say!("{}", preflight::footprint_line(&footprint));
    if args.preflight || args.report {
        return Ok(Outcome::Done);
    }
    if !args.quick {
        calls_figure(&dir.path().join("calls"))?;
    }
    Ok(Outcome::Done)
}

/// The DAG sizes of figure 5.
pub const CALLS_MEMBERS: [usize; 2] = [3, 8];

/// Figure 5: calls of a whole rollout (pre-flight to drift summary) of one
/// DAG of each of [`CALLS_MEMBERS`] sizes, every member upgraded, at fast
/// timings and no per-call cost; calls per member stay flat when the
/// rollout is linear in members (the performance review's fit was
/// 141·N + 4.7·N²).
fn calls_figure(dir: &Path) -> Result<(), Error> {
    let mut parts = Vec::new();
    for members in CALLS_MEMBERS {
        let fleet = Fleet {
            dags: 1,
            members,
            upgraded: members,
            scale: 6000,
            max_parallel_dags: 1,
            costs_ms: [0, 0, 0, 0],
            poll_floor_ms: 100,
        };
        let (usage, counts) = served(&fleet, &dir.join(members.to_string()), &["run", "--yes"])?;
        parts.push(format!(
            "{members} members {} calls ({:.1} per member){}",
            counts.calls,
            counts.calls as f64 / members as f64,
            failed(&usage)
        ));
    }
    say!(
        "5. calls per rollout, one DAG, every member upgraded: {}",
        parts.join("; ")
    );
    Ok(())
}

/// Serves `fleet`'s lab in this process and runs `command PLAN` as a
/// child against it; returns the child's usage and what the lab answered.
fn served(fleet: &Fleet, dir: &Path, command: &[&str]) -> Result<(Usage, lab::Counts), Error> {
    std::fs::create_dir_all(dir).map_err(|e| bench_error("cannot make a scratch directory", &e))?;
    let lab_path = dir.join("lab.toml");
    let text = fleet.lab_plan();
    let spec = lab::parse_plan_text_up_to(
        &text,
        &lab_path,
        fleet.servers().len().max(lab::MAX_LAB_SERVERS),
    )
    .map_err(|e| bench_error("the generated lab plan is invalid", &e))?
    .ok_or_else(|| bench_error("the generated lab plan has no [lab]", &""))?;
    let mut options = lab::winrm::ServeOptions::new(lab::winrm::Scheme::Http);
    options.ephemeral_ports = true;
    let running = lab::winrm::start(&spec, &spec.dag, &dir.join("lab-state"), options)?;
    let ports: Vec<u16> = running.urls.iter().map(|(_, url)| port_of(url)).collect();
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, fleet.winrm_plan(&ports))
        .map_err(|e| bench_error("cannot write the generated plan", &e))?;
    let state = dir.join("state");
    let plan_arg = plan.to_string_lossy().into_owned();
    let state_arg = state.to_string_lossy().into_owned();
    let mut args: Vec<&str> = vec![command[0], &plan_arg];
    args.extend(&command[1..]);
    args.extend(["--state-dir", &state_arg]);
    let usage = measure::run_self(&args, dir).map_err(|e| bench_error("cannot run cu-roll", &e))?;
    let counts = running.lab.counts();
    Ok((usage, counts))
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// " (FAILED: exit N: …)" when the child did not succeed; "" otherwise.
fn failed(u: &Usage) -> String {
    match u.exit_code {
        Some(0) => String::new(),
        code => format!(" (FAILED: exit {code:?}: {})", u.stderr_tail),
    }
}

fn bench_error(what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::Usage(format!("bench: {what}: {e}"))
}
