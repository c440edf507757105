//! Figures 2 and 4 of `cu-roll bench`: the pre-flight (`cu-roll report`)
//! of many servers at a stated latency per HTTP request, against one
//! server's chain at the same latency, with what the served lab spent per
//! call meanwhile; and the footprint line (the orchestrator's peak RSS and
//! CPU). Measuring is `measure`'s, the worlds are `fleet`'s; nothing here
//! judges a target.

use std::path::Path;

use super::fleet::Fleet;
use super::measure::Usage;
use super::{failed, served, Sizes};
use crate::error::Error;

/// The pre-flight of one server, then of all: the two usages and what the
/// lab answered in the second.
pub(super) struct Preflight {
    pub one: Usage,
    pub all: Usage,
    pub counts: lab::Counts,
}

/// Runs `report` on one server, then on `sizes.preflight_servers`, each
/// against a lab that charges `preflight_latency_ms` per HTTP request.
pub(super) fn measure(sizes: &Sizes, dir: &Path) -> Result<Preflight, Error> {
    let fleet = |dags: usize, members: usize| Fleet {
        dags,
        members,
        upgraded: members,
        scale: 1,
        max_parallel_dags: 1,
        costs_ms: [sizes.preflight_latency_ms, 0, 0, 0],
        poll_floor_ms: sizes.poll_floor_ms,
    };
    let (one, _) = served(&fleet(1, 1), &dir.join("one"), &["report"])?;
    // DAGs of at most 16 members, the most a DAG holds.
    let members = sizes.preflight_servers.min(16);
    let dags = sizes.preflight_servers.div_ceil(members);
    let (all, counts) = served(&fleet(dags, members), &dir.join("all"), &["report"])?;
    Ok(Preflight { one, all, counts })
}

/// Figure 2's line.
pub(super) fn line(sizes: &Sizes, p: &Preflight) -> String {
    let chain = p.one.wall.as_secs_f64();
    let all = p.all.wall.as_secs_f64();
    let lab = p.all.server_cpu.map_or_else(
        || "lab CPU not measured".to_string(),
        |cpu| {
            format!(
                "lab CPU {:.2} s for {} calls ({:.1} ms a call)",
                cpu.as_secs_f64(),
                p.counts.calls,
                cpu.as_secs_f64() * 1000.0 / p.counts.calls.max(1) as f64
            )
        },
    );
    format!(
        "2. pre-flight (report) of {} servers at {} ms per HTTP request, {} at once: {all:.2} s / {chain:.2} s one server's chain = {:.2}; sequential baseline {} x {chain:.2} s = {:.1} s; {lab}{}",
        sizes.preflight_servers,
        sizes.preflight_latency_ms,
        crate::pool::PREFLIGHT_FAN_OUT,
        all / chain,
        sizes.preflight_servers,
        chain * sizes.preflight_servers as f64,
        failed(&p.all)
    )
}

/// Figure 4's line: each (what, usage) measured.
pub(super) fn footprint_line(footprint: &[(String, Usage)]) -> String {
    let shown: Vec<String> = footprint
        .iter()
        .map(|(what, u)| format!("{what}: {}", usage_text(u)))
        .collect();
    format!(
        "4. orchestrator footprint (the child process alone): {}",
        shown.join("; ")
    )
}

fn usage_text(u: &Usage) -> String {
    let mib = |k: u64| k as f64 / 1024.0;
    let rss = u.peak_rss_kib.map_or_else(
        || "peak RSS not measured".into(),
        |k| match (u.rss_anon_kib, u.rss_file_kib) {
            (Some(a), Some(f)) => format!(
                "peak RSS {:.1} MiB (at most {:.1} anonymous, {:.1} file-backed)",
                mib(k),
                mib(a),
                mib(f)
            ),
            _ => format!("peak RSS {:.1} MiB", mib(k)),
        },
    );
    let cpu = u.cpu.map_or_else(
        || "CPU not measured".into(),
        |c| format!("CPU {:.2} s", c.as_secs_f64()),
    );
    format!("{rss}, {cpu}, wall {:.2} s", u.wall.as_secs_f64())
}
