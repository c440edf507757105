//! Stage two of the `[lab]` section: the raw shape → a validated
//! `LabSpec`: lab server names and FQDNs, builds, ports, databases and their
//! copies, injected faults, and (with `transport = "lab"`) that every
//! `[[server]]` of the plan exists in the lab. Errors point at the plan's
//! `file:line:column` as the product's own plan errors do. It checks the
//! description only; what a fault does is the world's business.

use std::collections::HashMap;
use std::path::Path;

use planfile::values::*;
use planfile::{checked, duration, name_and_fqdn, PlanError, Source, Text};
use toml::Spanned;

use super::raw::*;
use super::{
    LabDatabase, LabFault, LabMedia, LabMediaKind, LabServer, LabSpec, LabTimings, DEFAULT_DAG,
};
use crate::build::ExchangeBuild;

/// The `[lab]` section of the plan `text` (read from `path`), validated;
/// `None` when the plan has none.
pub fn parse_plan_text(text: &str, path: &Path) -> Result<Option<LabSpec>, PlanError> {
    parse_plan_text_up_to(text, path, MAX_LAB_SERVERS)
}

/// `parse_plan_text` holding up to `max_servers` lab servers instead of
/// [`MAX_LAB_SERVERS`]: for a bench's own generated worlds, never for a
/// plan a user wrote.
pub fn parse_plan_text_up_to(
    text: &str,
    path: &Path,
    max_servers: usize,
) -> Result<Option<LabSpec>, PlanError> {
    let src = Source { text, path };
    let doc: Document = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
    doc.lab
        .as_ref()
        .map(|lab| validate(&src, lab, &doc.server, max_servers))
        .transpose()
}

/// With `transport = "lab"`, every `[[server]]` of the plan `text` must be
/// simulated: a `[[lab.server]]` of the same name and FQDN.
pub fn check_plan_servers_simulated(
    text: &str,
    path: &Path,
    spec: &LabSpec,
) -> Result<(), PlanError> {
    let src = Source { text, path };
    let doc: Document = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
    check_plan_servers_exist(&src, spec, &doc.server)
}

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

fn validate(
    src: &Source,
    lab: &RawLab,
    plan_servers: &[Spanned<PlanServer>],
    max_servers: usize,
) -> Result<LabSpec, PlanError> {
    let base_port = match &lab.base_port {
        Some(p) if *p.get_ref() == 0 => {
            return Err(src.error(p.span(), "base_port must be a port number from 1 to 65535"))
        }
        Some(p) => *p.get_ref(),
        None => 15985,
    };
    let username = text_or(src, lab.username.as_ref(), "username", "lab\\admin")?;
    let password = text_or(src, lab.password.as_ref(), "password", "lab-only-password")?;
    check_world_size(src, lab, max_servers)?;
    let dag = dag(src, lab.dag.as_ref(), plan_servers)?;
    let mut servers = servers(src, &lab.server, base_port)?;
    super::dag::assign_dags(&mut servers, &dag, plan_servers);
    let databases = super::dag::databases(src, &lab.database, &servers)?;
    let faults = faults(src, &lab.fault, &servers, &databases)?;
    let certificates = super::certs::certificates(src, &lab.certificate, &servers)?;
    Ok(LabSpec {
        dag,
        base_port,
        username,
        password,
        org_management: lab.org_management.unwrap_or(true),
        witness_reachable: lab.witness_reachable.unwrap_or(true),
        ad: super::ad::ad(src, &lab.ad)?,
        timings: LabTimings {
            setup: duration(src, lab.timings.setup.as_ref(), "3s")?,
            reboot: duration(src, lab.timings.reboot.as_ref(), "1s")?,
            drain_per_message: duration(src, lab.timings.drain_per_message.as_ref(), "50ms")?,
            database_move: duration(src, lab.timings.database_move.as_ref(), "300ms")?,
            security_update: duration(src, lab.timings.security_update.as_ref(), "1s")?,
            resync: duration(src, lab.timings.resync.as_ref(), "300ms")?,
            call_latency: duration(src, lab.timings.call_latency.as_ref(), "0ms")?,
            powershell_start: duration(src, lab.timings.powershell_start.as_ref(), "0ms")?,
            exchange_session: duration(src, lab.timings.exchange_session.as_ref(), "0ms")?,
            transport_restart: duration(src, lab.timings.transport_restart.as_ref(), "90s")?,
            transport_startup: duration(src, lab.timings.transport_startup.as_ref(), "1s")?,
            redistribute_per_move: duration(
                src,
                lab.timings.redistribute_per_move.as_ref(),
                "200ms",
            )?,
        },
        servers: servers.into_iter().map(|(s, _)| s).collect(),
        databases: databases.into_iter().map(|(d, _)| d).collect(),
        faults,
        media: media(src, &lab.media)?,
        certificates,
    })
}

/// The DAG the lab simulates: `[lab] dag`, which must be one the plan's
/// servers name when they name any (the rollout sends their DAG's name to
/// the lab); else the first `[[server]] dag`; else [`DEFAULT_DAG`].
fn dag(
    src: &Source,
    raw: Option<&Text>,
    plan_servers: &[Spanned<PlanServer>],
) -> Result<String, PlanError> {
    let named: Vec<&str> = plan_servers
        .iter()
        .filter_map(|s| s.get_ref().dag.as_ref().map(|d| d.get_ref().as_str()))
        .collect();
    let Some(raw) = raw else {
        return Ok(named.first().map_or(DEFAULT_DAG, |d| *d).to_string());
    };
    checked(src, raw, |t| {
        check_netbios("lab DAG name", t)?;
        if named.is_empty() {
            return Ok(t.to_string());
        }
        // The plan's spelling: it is the name the rollout sends.
        match named.iter().find(|d| d.eq_ignore_ascii_case(t)) {
            Some(d) => Ok(d.to_string()),
            None => Err(format!(
                "dag '{t}' is not a DAG of the plan's servers ({}); the lab simulates one of them",
                named.join(", ")
            )),
        }
    })
}

/// The most lab servers one lab holds. A DAG has at most 16 members
/// (https://learn.microsoft.com/exchange/high-availability/database-availability-groups/database-availability-groups);
/// 64 leaves room for several DAGs.
pub const MAX_LAB_SERVERS: usize = 64;
/// The most databases, and the most faults, one lab holds.
pub const MAX_LAB_DATABASES: usize = 256;
pub const MAX_LAB_FAULTS: usize = 256;

/// Refuses a world the lab cannot hold (hostile input): every change
/// saves the whole world, so the cost grows with the world's size times
/// its changes (before saves were limited to changes, 100 servers took
/// 16 s and 10 000 took `report` to 23 GB). The error points at the first
/// entry past the limit.
fn check_world_size(src: &Source, lab: &RawLab, max_servers: usize) -> Result<(), PlanError> {
    let limits = [
        (
            "[[lab.server]]",
            lab.server.get(max_servers).map(Spanned::span),
            lab.server.len(),
            max_servers,
        ),
        (
            "[[lab.database]]",
            lab.database.get(MAX_LAB_DATABASES).map(Spanned::span),
            lab.database.len(),
            MAX_LAB_DATABASES,
        ),
        (
            "[[lab.fault]]",
            lab.fault.get(MAX_LAB_FAULTS).map(Spanned::span),
            lab.fault.len(),
            MAX_LAB_FAULTS,
        ),
    ];
    for (table, first_over, count, max) in limits {
        if let Some(span) = first_over {
            return Err(src.error(
                span,
                format!(
                    "the lab holds at most {max} {table} entries and this plan has {count}: the lab \
                     saves its whole world after every script, so its cost grows with the square of \
                     the world's size (10 000 servers took gigabytes); simulate a smaller world"
                ),
            ));
        }
    }
    Ok(())
}

/// `[[lab.media]]`: each an absolute local path like `setup_path` (the lab
/// copies it onto every server), with the build it installs; the kind comes
/// from the extension (`.exe` setup media, `.msp` security update).
fn media(src: &Source, raw: &[Spanned<RawLabMedia>]) -> Result<Vec<LabMedia>, PlanError> {
    let mut out: Vec<LabMedia> = Vec::with_capacity(raw.len());
    for entry in raw {
        let m = entry.get_ref();
        let kind = checked(src, &m.path, |t| {
            let kind = LabMediaKind::from_path(t).ok_or_else(|| {
                format!(
                    "media path '{t}' must end in .exe (setup media) or .msp (a security update)"
                )
            })?;
            let ext = if kind == LabMediaKind::Setup {
                ".exe"
            } else {
                ".msp"
            };
            check_local_windows_path("media path", t, ext)?;
            Ok(kind)
        })?;
        if out
            .iter()
            .any(|o| o.path.eq_ignore_ascii_case(m.path.get_ref()))
        {
            return Err(src.error(
                m.path.span(),
                format!("media '{}' is listed twice", m.path.get_ref()),
            ));
        }
        let build = checked(src, &m.build, |t| {
            t.parse::<ExchangeBuild>()
                .map_err(|e| format!("build: {e}"))
        })?;
        let sha256 = m
            .sha256
            .as_ref()
            .map(|h| {
                checked(src, h, |t| {
                    check_sha256(t)
                        .map(|d| d.to_ascii_uppercase())
                        .map_err(|_| {
                            format!("sha256 '{t}' is not a SHA-256 digest; expected 64 hexadecimal digits")
                        })
                })
            })
            .transpose()?;
        out.push(LabMedia {
            path: m.path.get_ref().clone(),
            build,
            kind,
            sha256,
        });
    }
    Ok(out)
}

fn text_or(
    src: &Source,
    value: Option<&Text>,
    key: &str,
    default: &str,
) -> Result<String, PlanError> {
    match value {
        Some(v) if v.get_ref().is_empty() => {
            Err(src.error(v.span(), format!("{key} may not be empty")))
        }
        Some(v) => checked(src, v, |t| check_plain_text(key, t).map(|()| t.to_string())),
        None => Ok(default.to_string()),
    }
}

/// Lab servers, each with the span of its name for later references.
fn servers(
    src: &Source,
    raw: &[Spanned<RawLabServer>],
    base_port: u16,
) -> Result<Vec<(LabServer, Text)>, PlanError> {
    let mut out: Vec<(LabServer, Text)> = Vec::new();
    let mut ports: HashMap<u16, String> = HashMap::new();
    for (index, entry) in raw.iter().enumerate() {
        let s = entry.get_ref();
        let fqdn = name_and_fqdn(src, &s.name, &s.fqdn)?;
        if let Some((first, _)) = out
            .iter()
            .find(|(o, _)| o.name.eq_ignore_ascii_case(s.name.get_ref()))
        {
            return Err(src.error(
                s.name.span(),
                format!(
                    "[[lab.server]] '{}' is listed twice; list each lab server once",
                    first.name
                ),
            ));
        }
        let build = checked(src, &s.build, |t| {
            t.parse::<ExchangeBuild>()
                .map_err(|e| format!("build: {e}"))
        })?;
        checked(src, &s.os, |t| check_plain_text("os", t))?;
        let mut custom_app_settings = Vec::with_capacity(s.custom_app_settings.len());
        for (key, value) in &s.custom_app_settings {
            checked(src, value, |t| {
                check_plain_text("appSettings key", key)?;
                check_plain_text("appSettings value", t)
            })?;
            custom_app_settings.push((key.clone(), value.get_ref().clone()));
        }
        let port = match &s.port {
            Some(p) if *p.get_ref() == 0 => {
                return Err(src.error(p.span(), "port must be from 1 to 65535"))
            }
            Some(p) => *p.get_ref(),
            None => u16::try_from(index)
                .ok()
                .and_then(|i| base_port.checked_add(i))
                .ok_or_else(|| {
                    src.error(
                        s.name.span(),
                        "base_port plus this server's index is past port 65535; lower base_port",
                    )
                })?,
        };
        if let Some(other) = ports.insert(port, s.name.get_ref().clone()) {
            let span = s.port.as_ref().map_or(s.name.span(), Spanned::span);
            return Err(src.error(
                span,
                format!(
                    "lab server '{}' would listen on port {port}, which '{other}' already uses",
                    s.name.get_ref()
                ),
            ));
        }
        out.push((
            LabServer {
                name: s.name.get_ref().clone(),
                fqdn,
                build,
                dotnet_release: s.dotnet_release,
                os: s.os.get_ref().clone(),
                vcredist_2012: s.vcredist_2012,
                vcredist_2013: s.vcredist_2013,
                ucma: s.ucma,
                url_rewrite: s.url_rewrite,
                pending_reboot: s.pending_reboot,
                system_drive_free_gb: s.system_drive_free_gb,
                queue_messages: s.queue_messages,
                custom_app_settings,
                port: s.port.as_ref().map(|p| *p.get_ref()),
                activation_policy: super::dag::activation_policy(
                    src,
                    s.activation_policy.as_ref(),
                )?,
                standalone: s.standalone.unwrap_or(false),
                extended_protection: s.extended_protection,
                rpc_ssl_offloading: s.rpc_ssl_offloading.unwrap_or(false),
                edge: crate::edge::spec(src, s)?,
                // Filled in by `dag::assign_dags` once the DAGs are known.
                dag: String::new(),
            },
            s.name.clone(),
        ));
    }
    Ok(out)
}

/// The lab server a reference names (case-insensitively), or an error at it.
pub(super) fn lab_server<'a>(
    src: &Source,
    servers: &'a [(LabServer, Text)],
    reference: &Text,
    what: &str,
) -> Result<&'a LabServer, PlanError> {
    checked(src, reference, |t| check_netbios(what, t))?;
    servers
        .iter()
        .map(|(s, _)| s)
        .find(|s| s.name.eq_ignore_ascii_case(reference.get_ref()))
        .ok_or_else(|| {
            let known: Vec<&str> = servers.iter().map(|(s, _)| s.name.as_str()).collect();
            src.error(
                reference.span(),
                format!(
                    "{what} '{}' is not a lab server; the [[lab.server]] entries are: {}",
                    reference.get_ref(),
                    if known.is_empty() {
                        "(none)".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            )
        })
}

fn faults(
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

/// With `transport = "lab"`, every `[[server]]` must be simulated: a
/// `[[lab.server]]` of the same name and FQDN.
fn check_plan_servers_exist(
    src: &Source,
    spec: &LabSpec,
    servers: &[Spanned<PlanServer>],
) -> Result<(), PlanError> {
    for entry in servers {
        let s = entry.get_ref();
        let Some(lab) = spec
            .servers
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(s.name.get_ref()))
        else {
            return Err(src.error(
                s.name.span(),
                format!(
                    "server '{}' has no [[lab.server]] entry; with transport = \"lab\" every server must be simulated",
                    s.name.get_ref()
                ),
            ));
        };
        if !lab.fqdn.eq_ignore_ascii_case(s.fqdn.get_ref()) {
            return Err(src.error(
                s.fqdn.span(),
                format!(
                    "fqdn '{}' differs from the lab server's fqdn '{}'",
                    s.fqdn.get_ref(),
                    lab.fqdn
                ),
            ));
        }
        let plan_edge = s
            .role
            .as_ref()
            .is_some_and(|r| r.get_ref().eq_ignore_ascii_case("edge"));
        if plan_edge != lab.edge.is_some() {
            let role = |edge: bool| {
                if edge {
                    "an Edge Transport server"
                } else {
                    "a Mailbox server"
                }
            };
            return Err(src.error(
                s.role.as_ref().map_or(s.name.span(), Spanned::span),
                format!(
                    "server '{}' is {} in the plan but {} in the lab (its [[lab.server]] role)",
                    s.name.get_ref(),
                    role(plan_edge),
                    role(lab.edge.is_some())
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::{parse_plan_text, MAX_LAB_SERVERS};
    use crate::build::ExchangeBuild;
    use crate::{LabMediaKind, LabSpec};
    use planfile::PlanError;

    /// The workspace's shipped plans (the lab's own crate is two levels down).
    fn plans_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans")
    }

    fn shipped(name: &str) -> (LabSpec, String) {
        let path = plans_dir().join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let spec = parse_plan_text(&text, &path)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .expect("[lab]");
        (spec, text)
    }

    /// plans/lab.toml with its `[[lab.media]]` replaced by `media`.
    fn with_media(media: &str) -> Result<LabSpec, PlanError> {
        let text = std::fs::read_to_string(plans_dir().join("lab.toml")).unwrap();
        let head = &text[..text.find("[[lab.media]]").unwrap()];
        let tail = &text[text.find("[[lab.server]]").unwrap()..];
        parse_plan_text(&format!("{head}{media}\n{tail}"), Path::new("plans/t.toml"))
            .map(|s| s.expect("[lab]"))
    }

    #[test]
    fn shipped_lab_plans_carry_the_media_the_rollout_points_at() {
        for name in ["lab.toml", "lab-blocked.toml"] {
            let (lab, text) = shipped(name);
            assert_eq!(lab.media.len(), 2, "{name}");
            let setup = &lab.media[0];
            assert!(
                text.contains(&format!("setup_path = '{}'", setup.path)),
                "{name}"
            );
            assert_eq!(setup.kind, LabMediaKind::Setup);
            assert_eq!(setup.build, ExchangeBuild::new(15, 2, 1748, 10));
            assert_eq!(setup.sha256, None);
            let su = &lab.media[1];
            assert!(text.contains(&format!("su_path = '{}'", su.path)), "{name}");
            assert_eq!(su.kind, LabMediaKind::SecurityUpdate);
            assert_eq!(su.build, ExchangeBuild::new(15, 2, 1748, 43));
            assert_eq!(lab.timings.security_update, Duration::from_secs(1));
            assert_eq!(lab.timings.resync, Duration::from_millis(300));
        }
    }

    #[test]
    fn media_entries_are_checked_like_setup_path() {
        let ok = with_media(&format!(
            "[[lab.media]]\npath = 'E:\\CU15\\Setup.exe'\nbuild = \"15.2.1748.10\"\nsha256 = \"{}\"\n",
            "ab".repeat(32)
        ))
        .expect("valid");
        assert_eq!(ok.media[0].sha256, Some("AB".repeat(32)));
        let refused = |media: &str, needle: &str| {
            let e = with_media(media).expect_err(needle);
            assert!(e.message().contains(needle), "{}", e.message());
            assert!(e.location().is_some());
        };
        refused(
            "[[lab.media]]\npath = '\\\\fs01\\media\\Setup.exe'\nbuild = \"15.2.1748.10\"\n",
            "UNC path",
        );
        refused(
            "[[lab.media]]\npath = 'Setup.exe'\nbuild = \"15.2.1748.10\"\n",
            "not an absolute local Windows path",
        );
        refused(
            "[[lab.media]]\npath = 'D:\\Setup.zip'\nbuild = \"15.2.1748.10\"\n",
            "must end in .exe (setup media) or .msp",
        );
        refused(
            "[[lab.media]]\npath = 'D:\\Setup.exe'\nbuild = \"15.2\"\n",
            "build",
        );
        refused(
            "[[lab.media]]\npath = 'D:\\Setup.exe'\nbuild = \"15.2.1748.10\"\nsha256 = \"abc\"\n",
            "not a SHA-256 digest",
        );
        refused(
            "[[lab.media]]\npath = 'D:\\Setup.exe'\nbuild = \"15.2.1748.10\"\n[[lab.media]]\npath = 'd:\\setup.exe'\nbuild = \"15.2.1748.10\"\n",
            "listed twice",
        );
    }

    #[test]
    fn domain_controllers_are_fqdns_and_an_unreachable_one_must_be_listed() {
        let (lab, text) = shipped("lab.toml");
        assert!(lab.ad.domain_controllers.is_empty(), "one, by default");
        assert_eq!(lab.ad.replication_delay, Duration::from_secs(15));
        let with = |keys: &str| {
            parse_plan_text(
                &text.replacen("[lab.ad]\n", &format!("[lab.ad]\n{keys}\n"), 1),
                Path::new("plans/t.toml"),
            )
        };
        let two = "domain_controllers = [\"dc01.contoso.local\", \"DC02.contoso.local\"]";
        let ok = with(&format!("{two}\nreplication_delay = \"2m\"\nunreachable_domain_controllers = [\"dc02.contoso.local\"]"))
            .unwrap()
            .unwrap();
        assert_eq!(
            ok.ad.domain_controllers,
            ["dc01.contoso.local", "dc02.contoso.local"]
        );
        assert_eq!(ok.ad.replication_delay, Duration::from_secs(120));
        assert_eq!(ok.ad.unreachable_domain_controllers, ["dc02.contoso.local"]);
        let refused = |keys: String, needle: &str| {
            let e = with(&keys).expect_err(needle);
            assert!(e.message().contains(needle), "{}", e.message());
        };
        refused(
            "domain_controllers = [\"dc01\"]".into(),
            "not a valid DNS name",
        );
        refused(
            format!("{two}\nunreachable_domain_controllers = [\"dc03.contoso.local\"]"),
            "is not one of [lab.ad] domain_controllers",
        );
        refused(
            format!("{two}\nunreachable_domain_controllers = [\"dc01.contoso.local\", \"dc02.contoso.local\"]"),
            "every domain controller is unreachable",
        );
    }

    /// The shipped lab plan with copies of its first lab server (EX01)
    /// added up to `total` lab servers.
    fn with_lab_servers(text: &str, total: usize) -> String {
        let first = &text[text.find("[[lab.server]]").unwrap()..];
        let block = &first[..first.find("\n\n").unwrap()];
        let shipped = text.matches("[[lab.server]]").count();
        let mut out = text.to_string();
        for i in shipped..total {
            let copy = block
                .replace("\"EX01\"", &format!("\"X{i}\""))
                .replace("ex01.contoso.local", &format!("x{i}.contoso.local"));
            out.push_str(&format!("\n{copy}\n"));
        }
        out
    }

    #[test]
    fn a_world_larger_than_the_lab_holds_is_refused_at_the_first_entry_over() {
        let (_, text) = shipped("lab.toml");
        let at_limit = with_lab_servers(&text, MAX_LAB_SERVERS);
        let spec = parse_plan_text(&at_limit, Path::new("ok.toml"))
            .unwrap()
            .unwrap();
        assert_eq!(spec.servers.len(), MAX_LAB_SERVERS);

        let big = with_lab_servers(&text, MAX_LAB_SERVERS + 1);
        let err = parse_plan_text(&big, Path::new("big.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at most 64 [[lab.server]] entries and this plan has 65"),
            "{err}"
        );
        // The error points at the 65th entry's header (X64).
        let line: usize = err.split(':').nth(1).unwrap().parse().unwrap();
        let x64 = big.lines().position(|l| l == "name = \"X64\"").unwrap() + 1;
        assert_eq!(line + 1, x64, "{err}");
    }

    #[test]
    fn fault_hold_is_a_duration() {
        let lab = with_media(
            "[[lab.fault]]\nserver = \"EX02\"\nkind = \"setup-hangs\"\ntimes = 1\nhold = \"3s\"\n",
        )
        .expect("valid");
        assert_eq!(lab.faults[0].hold, Some(Duration::from_secs(3)));
        assert!(lab.media.is_empty());
        let e = with_media(
            "[[lab.fault]]\nserver = \"EX02\"\nkind = \"setup-hangs\"\nhold = \"soon\"\n",
        )
        .expect_err("bad hold");
        assert!(e.location().is_some(), "{e}");
    }

    /// plans/lab.toml with `[lab]` followed by `lab_keys`, and every
    /// `dag = "DAG01"` of its servers replaced by `server_dag` (a whole
    /// line, or nothing).
    fn with_dags(lab_keys: &str, server_dag: &str) -> Result<LabSpec, PlanError> {
        let text = std::fs::read_to_string(plans_dir().join("lab.toml")).unwrap();
        assert!(text.contains("\ndag = \"DAG01\"\n") && text.contains("\n[lab]\n"));
        let text = text
            .replace("\ndag = \"DAG01\"\n", &format!("\n{server_dag}"))
            .replace("\n[lab]\n", &format!("\n[lab]\n{lab_keys}"));
        parse_plan_text(&text, Path::new("plans/t.toml")).map(|s| s.expect("[lab]"))
    }

    #[test]
    fn the_lab_dag_is_the_lab_key_else_the_plans_first_else_dag01() {
        assert_eq!(shipped("lab.toml").0.dag, "DAG01");
        assert_eq!(with_dags("", "dag = \"DAG07\"\n").unwrap().dag, "DAG07");
        assert_eq!(with_dags("", "").unwrap().dag, crate::DEFAULT_DAG);
        assert_eq!(with_dags("dag = \"LABDAG\"\n", "").unwrap().dag, "LABDAG");
        assert_eq!(
            with_dags("dag = \"dag07\"\n", "dag = \"DAG07\"\n")
                .unwrap()
                .dag,
            "DAG07"
        );
        let e = with_dags("dag = \"DAG02\"\n", "dag = \"DAG07\"\n").expect_err("other DAG");
        assert!(
            e.message()
                .contains("dag 'DAG02' is not a DAG of the plan's servers (DAG07"),
            "{}",
            e.message()
        );
        assert!(e.location().is_some(), "{e}");
        let e = with_dags("dag = \"not a name\"\n", "").expect_err("bad name");
        assert!(e.location().is_some(), "{e}");
    }
}
