//! The `[policy]` section: copy-health thresholds, timeouts, poll interval
//! and parallelism, each positive and defaulted as documented.

use toml::Spanned;

use crate::plan::model::*;
use crate::plan::raw::*;
use planfile::{checked, duration, PlanError, Source};

use super::positive_duration;

fn at_least_one(
    src: &Source,
    key: &str,
    value: Option<&Spanned<u32>>,
    default: u32,
) -> Result<u32, PlanError> {
    match value {
        Some(v) if *v.get_ref() == 0 => {
            Err(src.error(v.span(), format!("{key} must be at least 1")))
        }
        Some(v) => Ok(*v.get_ref()),
        None => Ok(default),
    }
}

pub(super) fn policy(src: &Source, p: &RawPolicy) -> Result<Policy, PlanError> {
    let t = &p.timeouts;
    Ok(Policy {
        order: match p.order {
            Some(RawOrder::Plan) => Order::Plan,
            Some(RawOrder::PassiveFirst) | None => Order::PassiveFirst,
        },
        // Zero would let the gate take a database's last healthy copy away.
        // Absent: StartDagServerMaintenance.ps1's rule alone decides.
        min_healthy_copies: p
            .min_healthy_copies
            .as_ref()
            .map(|v| at_least_one(src, "min_healthy_copies", Some(v), 1))
            .transpose()?,
        override_minimum_two_copies: p.override_minimum_two_copies.unwrap_or(false),
        max_copy_queue: p.max_copy_queue.unwrap_or(10),
        max_replay_queue: p.max_replay_queue.unwrap_or(50),
        min_free_space_gb: p.min_free_space_gb.unwrap_or(30),
        redistribute: match p.redistribute {
            Some(RawRedistribute::AtEnd) => Redistribute::AtEnd,
            Some(RawRedistribute::AfterEach) | None => Redistribute::AfterEach,
        },
        pause_between: p.pause_between.unwrap_or(false),
        prepare_ad: match p.prepare_ad {
            Some(RawPrepareAd::Run) => PrepareAd::Run,
            Some(RawPrepareAd::Block) | None => PrepareAd::Block,
        },
        // Zero is allowed: a single-DC forest has nothing to wait for.
        ad_replication_wait: duration(src, p.ad_replication_wait.as_ref(), "15m")?,
        timeouts: Timeouts {
            drain: positive_duration(src, "drain", t.drain.as_ref(), "30m")?,
            setup: positive_duration(src, "setup", t.setup.as_ref(), "3h")?,
            reboot: positive_duration(src, "reboot", t.reboot.as_ref(), "20m")?,
            health: positive_duration(src, "health", t.health.as_ref(), "15m")?,
            move_databases: positive_duration(
                src,
                "move_databases",
                t.move_databases.as_ref(),
                "15m",
            )?,
        },
        poll_interval: positive_duration(src, "poll_interval", p.poll_interval.as_ref(), "5s")?,
        max_parallel_dags: at_least_one(src, "max_parallel_dags", p.max_parallel_dags.as_ref(), 1)?,
        not_after: p
            .not_after
            .as_ref()
            .map(|v| checked(src, v, crate::plan::window::parse_window_end))
            .transpose()?,
        server_estimate: p
            .server_estimate
            .as_ref()
            .map(|v| positive_duration(src, "server_estimate", Some(v), "1s"))
            .transpose()?,
        // Zero is allowed: a content index still catching up then fails
        // health at once, as before review #25.
        content_index_deadline: duration(src, p.content_index_deadline.as_ref(), "12h")?,
    })
}
