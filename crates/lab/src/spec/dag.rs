//! The DAG-wide parts of `[lab]` that describe legitimate configurations
//! rather than faults: `[[lab.database]]` entries with their copies,
//! starting statuses and lagged copies (`replay_lag`), and a server's
//! `activation_policy`, and which DAG each lab server is a member of
//! (its plan `[[server]] dag`; a database's copies stay in one DAG).
//! Errors point at the plan's `file:line:column`.
//! What the world does with them is `worldinit`'s business.

use std::time::Duration;

use planfile::values::*;
use planfile::{checked, PlanError, Source, Text};
use toml::Spanned;

use super::raw::*;
use super::servers::lab_server;
use super::{LabDatabase, LabServer};
use crate::model::ActivationPolicy;

/// Exchange's largest `ReplayLagTime`: 14 days (Microsoft Learn,
/// Set-MailboxDatabaseCopy `-ReplayLagTime`: "The maximum value is 14 days").
const MAX_REPLAY_LAG: Duration = Duration::from_secs(14 * 86_400);

/// `activation_policy = "Blocked"`: one of the three
/// `DatabaseCopyAutoActivationPolicyType` names (cmdlets.md §4), any case.
pub(super) fn activation_policy(
    src: &Source,
    value: Option<&Text>,
) -> Result<ActivationPolicy, PlanError> {
    let Some(v) = value else {
        return Ok(ActivationPolicy::Unrestricted);
    };
    checked(src, v, |t| {
        match t.to_ascii_lowercase().as_str() {
            "unrestricted" => Some(ActivationPolicy::Unrestricted),
            "intrasiteonly" => Some(ActivationPolicy::IntrasiteOnly),
            "blocked" => Some(ActivationPolicy::Blocked),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "activation_policy '{t}' is not a DatabaseCopyAutoActivationPolicy; expected \"Unrestricted\", \"IntrasiteOnly\" or \"Blocked\""
            )
        })
    })
}

/// A replay lag: a plan duration (`"12h"`, `"90m"`) or whole days (`"7d"`),
/// more than zero and at most 14 days.
fn parse_lag(text: &str) -> Result<Duration, String> {
    let lag = match text.strip_suffix('d') {
        Some(days) if !days.is_empty() && days.bytes().all(|b| b.is_ascii_digit()) => days
            .parse::<u64>()
            .ok()
            .and_then(|d| d.checked_mul(86_400))
            .map(Duration::from_secs)
            .ok_or_else(|| format!("replay lag '{text}' is too large"))?,
        _ => {
            parse_duration(text).map_err(|e| format!("replay lag: {e}, or days such as \"7d\""))?
        }
    };
    if lag.is_zero() {
        return Err(format!(
            "replay lag '{text}' is zero; leave the copy out of replay_lag for a copy without lag"
        ));
    }
    if lag > MAX_REPLAY_LAG {
        return Err(format!(
            "replay lag '{text}' is more than 14 days, the most Exchange allows"
        ));
    }
    Ok(lag)
}

/// `replay_lag = { "EX03" = "7d" }`: each key a server holding a passive
/// copy of the database.
fn replay_lags(
    src: &Source,
    d: &RawLabDatabase,
    copies: &[String],
    active: &str,
) -> Result<Vec<(String, Duration)>, PlanError> {
    let mut out = Vec::with_capacity(d.replay_lag.len());
    for (server, lag) in &d.replay_lag {
        let Some(name) = copies.iter().find(|c| c.eq_ignore_ascii_case(server)) else {
            return Err(src.error(
                lag.span(),
                format!(
                    "replay_lag names '{server}', which holds no copy of {}",
                    d.name.get_ref()
                ),
            ));
        };
        if name == active {
            return Err(src.error(
                lag.span(),
                format!("replay_lag may not be given for the active copy on '{server}': a lagged copy is a passive copy"),
            ));
        }
        out.push((name.clone(), checked(src, lag, parse_lag)?));
    }
    Ok(out)
}

/// Gives each lab server its DAG: the `dag` of the plan's `[[server]]`
/// of the same name (the plan's spelling), else `default` (the lab's DAG).
pub(super) fn assign_dags(
    servers: &mut [(LabServer, Text)],
    default: &str,
    plan_servers: &[Spanned<PlanServer>],
) {
    for (s, _) in servers.iter_mut() {
        s.dag = plan_servers
            .iter()
            .map(Spanned::get_ref)
            .find(|p| p.name.get_ref().eq_ignore_ascii_case(&s.name))
            .and_then(|p| p.dag.as_ref())
            .map_or_else(|| default.to_string(), |d| d.get_ref().clone());
    }
}

pub(super) fn databases(
    src: &Source,
    raw: &[Spanned<RawLabDatabase>],
    servers: &[(LabServer, Text)],
) -> Result<Vec<(LabDatabase, Text)>, PlanError> {
    let mut out: Vec<(LabDatabase, Text)> = Vec::new();
    for entry in raw {
        let d = entry.get_ref();
        checked(src, &d.name, |t| check_display_name("database name", t))?;
        if out
            .iter()
            .any(|(o, _)| o.name.eq_ignore_ascii_case(d.name.get_ref()))
        {
            return Err(src.error(
                d.name.span(),
                format!("database '{}' is listed twice", d.name.get_ref()),
            ));
        }
        if d.copies.get_ref().is_empty() {
            return Err(src.error(
                d.copies.span(),
                "copies is empty; list the servers holding a copy, in activation-preference order",
            ));
        }
        let mut copies: Vec<String> = Vec::new();
        for copy in d.copies.get_ref() {
            let server = lab_server(src, servers, copy, "database copy server")?;
            if copies.iter().any(|c| c.eq_ignore_ascii_case(&server.name)) {
                return Err(src.error(
                    copy.span(),
                    format!(
                        "'{}' holds a copy of {} twice",
                        copy.get_ref(),
                        d.name.get_ref()
                    ),
                ));
            }
            if let Some(first) = copies.first() {
                let dag_of = |n: &str| {
                    servers
                        .iter()
                        .find(|(s, _)| s.name == n)
                        .map_or("", |(s, _)| s.dag.as_str())
                };
                if !dag_of(first).eq_ignore_ascii_case(&server.dag) {
                    return Err(src.error(
                        copy.span(),
                        format!(
                            "'{}' is in DAG {} but {first} holds a copy of {} in DAG {}: a database's copies stay in one DAG",
                            server.name,
                            server.dag,
                            d.name.get_ref(),
                            dag_of(first)
                        ),
                    ));
                }
            }
            copies.push(server.name.clone());
        }
        super::super::standalone::check_copies(src, servers, d, &copies)?;
        let active = lab_server(src, servers, &d.active, "active server")?
            .name
            .clone();
        if !copies.contains(&active) {
            return Err(src.error(
                d.active.span(),
                format!(
                    "active '{}' holds no copy of {}; it must be one of copies",
                    d.active.get_ref(),
                    d.name.get_ref()
                ),
            ));
        }
        let mut copy_status = Vec::with_capacity(d.copy_status.len());
        for (server, status) in &d.copy_status {
            let Some(name) = copies.iter().find(|c| c.eq_ignore_ascii_case(server)) else {
                return Err(src.error(
                    status.span(),
                    format!(
                        "copy_status names '{server}', which holds no copy of {}",
                        d.name.get_ref()
                    ),
                ));
            };
            if *name == active {
                return Err(src.error(
                    status.span(),
                    format!("copy_status may not be given for the active copy on '{server}': it is Mounted; set statuses of passive copies only"),
                ));
            }
            copy_status.push((name.clone(), *status.get_ref()));
        }
        let replay_lag = replay_lags(src, d, &copies, &active)?;
        out.push((
            LabDatabase {
                name: d.name.get_ref().clone(),
                copies,
                active,
                copy_status,
                replay_lag,
            },
            d.name.clone(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::super::parse_plan_text;
    use crate::model::ActivationPolicy;
    use crate::LabSpec;
    use planfile::PlanError;

    fn plans_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans")
    }

    /// plans/lab.toml with `extra` appended to its last `[[lab.database]]`
    /// (DB04: copies EX01, EX03, EX02; active EX01) and `server` to EX03.
    fn lab_with(server: &str, extra: &str) -> Result<LabSpec, PlanError> {
        let text = std::fs::read_to_string(plans_dir().join("lab.toml")).unwrap();
        let text = text.replacen(
            "system_drive_free_gb = 88\n",
            &format!("system_drive_free_gb = 88\n{server}"),
            1,
        );
        parse_plan_text(&format!("{text}{extra}"), Path::new("plans/t.toml"))
            .map(|s| s.expect("[lab]"))
    }

    #[test]
    fn the_shipped_dr_lab_has_a_blocked_member_and_a_lagged_copy() {
        let path = plans_dir().join("lab-dr.toml");
        let lab = parse_plan_text(&std::fs::read_to_string(&path).unwrap(), &path)
            .unwrap()
            .unwrap();
        let ex04 = lab.servers.iter().find(|s| s.name == "EX04").unwrap();
        assert_eq!(ex04.activation_policy, ActivationPolicy::Blocked);
        let db01 = &lab.databases[0];
        assert_eq!(
            db01.replay_lag,
            vec![("EX04".to_string(), Duration::from_secs(7 * 86_400))]
        );
    }

    #[test]
    fn activation_policy_and_replay_lag_are_read() {
        let lab = lab_with(
            "activation_policy = \"intrasiteonly\"\n",
            "replay_lag = { \"ex02\" = \"12h\" }\n",
        )
        .expect("valid");
        let ex03 = lab.servers.iter().find(|s| s.name == "EX03").unwrap();
        assert_eq!(ex03.activation_policy, ActivationPolicy::IntrasiteOnly);
        assert_eq!(
            lab.databases[3].replay_lag,
            vec![("EX02".to_string(), Duration::from_secs(12 * 3600))]
        );
    }

    #[test]
    fn bad_policies_and_lags_are_refused_at_their_line() {
        let refused = |server: &str, extra: &str, needle: &str| {
            let e = lab_with(server, extra).expect_err(needle);
            assert!(e.message().contains(needle), "{}", e.message());
            assert!(e.location().is_some(), "{e}");
        };
        refused(
            "activation_policy = \"Never\"\n",
            "",
            "is not a DatabaseCopyAutoActivationPolicy",
        );
        refused(
            "",
            "replay_lag = { \"EX02\" = \"15d\" }\n",
            "more than 14 days",
        );
        refused("", "replay_lag = { \"EX02\" = \"0s\" }\n", "is zero");
        refused("", "replay_lag = { \"EX02\" = \"soon\" }\n", "replay lag");
        refused("", "replay_lag = { \"EX01\" = \"7d\" }\n", "active copy");
        refused(
            "",
            "replay_lag = { \"EX09\" = \"7d\" }\n",
            "holds no copy of DB04",
        );
    }
}
