//! The `[[lab.fault]]` entries of the `[lab]` section: the fault kinds and
//! rollout steps a fault may name, and the checks that each fault names a
//! lab server, a database that server holds a copy of, and a
//! `"<server>:<step>"` that exists. It checks the description only; what a
//! fault does is the world's business, and it must not read the world.

use planfile::{checked, duration, PlanError, Source, Text};
use toml::Spanned;

use super::raw::RawLabFault;
use super::servers::lab_server;
use super::{LabDatabase, LabFault, LabServer};

/// The fault kinds a `[[lab.fault]]` may name.
pub const FAULT_KINDS: &[&str] = &[
    "setup-fails",
    "setup-hangs",
    "reboot-hangs",
    "queue-stuck",
    "move-blocked",
    "copy-fails",
    "health-fails",
    "mapi-fails",
    "owa-pool-stopped",
    "winrm-drops",
    "su-fails",
    "su-busy",
    "su-restarts",
    "su-interrupted",
    "moves-suppressed",
    "clussvc-starts-late",
    "submission-suspended",
    "command-hangs",
];

/// The rollout steps the lab recognises from what a client sends (how, per
/// step, is in docs/lab.md, "Faults"); a fault's `during =
/// "<server>:<step>"` must name one of them. They are cu-roll's step ids:
/// the product has a test that its own list is the same.
pub const STEP_NAMES: &[&str] = &[
    "backup-config",
    "enter-maintenance",
    "reboot-before-setup",
    "setup",
    "security-update",
    "reboot-after-setup",
    "exit-maintenance",
    "health",
    "redistribute",
];

pub(super) fn faults(
    src: &Source,
    raw: &[Spanned<RawLabFault>],
    servers: &[(LabServer, Text)],
    databases: &[(LabDatabase, Text)],
) -> Result<Vec<LabFault>, PlanError> {
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let f = entry.get_ref();
        let server = lab_server(src, servers, &f.server, "fault server")?
            .name
            .clone();
        let kind = checked(src, &f.kind, |t| {
            if FAULT_KINDS.contains(&t) {
                Ok(t.to_string())
            } else {
                Err(format!(
                    "unknown fault kind '{t}'; expected one of: {}",
                    FAULT_KINDS.join(", ")
                ))
            }
        })?;
        let times = match &f.times {
            Some(t) if *t.get_ref() == 0 => {
                return Err(src.error(
                    t.span(),
                    "times must be at least 1; leave it out for a fault that always fires",
                ))
            }
            Some(t) => Some(*t.get_ref()),
            None => None,
        };
        let database = match &f.database {
            Some(d) => {
                let Some((db, _)) = databases
                    .iter()
                    .find(|(db, _)| db.name.eq_ignore_ascii_case(d.get_ref()))
                else {
                    return Err(src.error(
                        d.span(),
                        format!("database '{}' is not a [[lab.database]]", d.get_ref()),
                    ));
                };
                if !db.copies.contains(&server) {
                    return Err(src.error(
                        d.span(),
                        format!("'{server}' holds no copy of database '{}'", db.name),
                    ));
                }
                Some(db.name.clone())
            }
            None if kind == "copy-fails" => {
                return Err(src.error(
                    f.kind.span(),
                    "kind = \"copy-fails\" needs database = \"<name>\": the copy that fails",
                ))
            }
            None => None,
        };
        if kind == "command-hangs" && f.during.is_none() {
            return Err(src.error(
                f.kind.span(),
                "kind = \"command-hangs\" needs during = \"<server>:<step>\": the step whose start makes the lab stop answering",
            ));
        }
        let during = f
            .during
            .as_ref()
            .map(|d| check_during(src, d, servers))
            .transpose()?;
        let hold = match &f.hold {
            Some(h) => Some(duration(src, Some(h), "30s")?),
            None => None,
        };
        out.push(LabFault {
            server,
            kind,
            times,
            database,
            during,
            hold,
        });
    }
    Ok(out)
}

/// `"<server>:<step>"`, e.g. `"EX02:enter-maintenance"`.
fn check_during(
    src: &Source,
    value: &Text,
    servers: &[(LabServer, Text)],
) -> Result<String, PlanError> {
    let expected = || {
        format!(
            "during '{}' is not '<server>:<step>'; expected e.g. \"EX02:enter-maintenance\" with a step among: {}",
            value.get_ref(),
            STEP_NAMES.join(", ")
        )
    };
    let Some((server, step)) = value.get_ref().split_once(':') else {
        return Err(src.error(value.span(), expected()));
    };
    if !STEP_NAMES.contains(&step) {
        return Err(src.error(value.span(), expected()));
    }
    let Some((s, _)) = servers
        .iter()
        .find(|(s, _)| s.name.eq_ignore_ascii_case(server))
    else {
        return Err(src.error(
            value.span(),
            format!("during names '{server}', which is not a lab server"),
        ));
    };
    Ok(format!("{}:{step}", s.name))
}
