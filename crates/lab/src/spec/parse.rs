//! Stage two of the `[lab]` section: the raw shape → a validated
//! `LabSpec`: the section's own keys (DAG, ports, credentials, timings,
//! world size), then its entries through `servers`, `dag`, `faults`,
//! `certs` and `ad`, and (with `transport = "lab"`) that every
//! `[[server]]` of the plan exists in the lab. Errors point at the plan's
//! `file:line:column` as the product's own plan errors do. It checks the
//! description only; what a fault does is the world's business.

use std::path::Path;

use planfile::values::*;
use planfile::{checked, duration, PlanError, Source, Text};
use toml::Spanned;

use super::faults::faults;
use super::raw::*;
use super::servers::{media, servers};
use super::{LabSpec, LabTimings, DEFAULT_DAG};

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
        load_balancer: load_balancer(src, lab.load_balancer.as_ref())?,
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
            import_session: duration(src, lab.timings.import_session.as_ref(), "0ms")?,
            transport_restart: duration(src, lab.timings.transport_restart.as_ref(), "90s")?,
            transport_startup: duration(src, lab.timings.transport_startup.as_ref(), "1s")?,
            redistribute_per_move: duration(
                src,
                lab.timings.redistribute_per_move.as_ref(),
                "200ms",
            )?,
            output_per_mb: duration(src, lab.timings.output_per_mb.as_ref(), "0ms")?,
            start_sleep_divisor: lab.timings.start_sleep_divisor.unwrap_or(1).max(1),
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

/// `[lab] load_balancer`: the namespace (a DNS name, default
/// `mail.contoso.local`) and whether it offloads TLS (default false).
fn load_balancer(
    src: &Source,
    raw: Option<&super::raw::RawLabLoadBalancer>,
) -> Result<crate::load_balancer::LoadBalancer, PlanError> {
    let mut lb = crate::load_balancer::LoadBalancer::default();
    let Some(raw) = raw else { return Ok(lb) };
    if let Some(n) = &raw.namespace {
        lb.namespace = checked(src, n, |t| planfile::values::check_fqdn("namespace", t))?;
    }
    lb.tls_offloading = raw.tls_offloading.unwrap_or(false);
    Ok(lb)
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

    #[test]
    fn command_hangs_needs_the_step_that_starts_it() {
        let e = with_media("[[lab.fault]]\nserver = \"EX02\"\nkind = \"command-hangs\"\n")
            .expect_err("no during");
        assert!(e.to_string().contains("needs during"), "{e}");
        let lab = with_media(
            "[[lab.fault]]\nserver = \"EX02\"\nkind = \"command-hangs\"\nduring = \"EX02:enter-maintenance\"\n",
        )
        .expect("valid");
        assert_eq!(lab.faults[0].kind, "command-hangs");
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
