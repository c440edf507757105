//! Plan loading end to end: the shipped plans parse, every bad-plan fixture
//! fails at its line, defaults apply, and cross-checks catch what single
//! values cannot.

use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;

use super::*;

use lab::{LabCopyStatus, LabSpec, PendingReboot};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_shipped(name: &str) -> Plan {
    load(&root().join("plans").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A plan file as the command layer loads it: the plan, and its `[lab]`
/// section read by the lab crate from the same text.
fn load_with_lab(path: &Path) -> Result<Plan, PlanError> {
    let text = read(path)?;
    let plan = parse(&text, path)?;
    crate::commands::lab::spec_of(&plan, &text)?;
    Ok(plan)
}

fn shipped_lab(name: &str) -> LabSpec {
    let path = root().join("plans").join(name);
    lab::parse_plan_text(&read(&path).unwrap(), &path)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .expect("[lab]")
}

fn lab_str(text: &str) -> LabSpec {
    lab::parse_plan_text(text, Path::new("plans/t.toml"))
        .expect("valid")
        .expect("[lab]")
}

/// A small valid plan; tests change one thing in it (`plan::notify`'s too).
pub(super) const MINIMAL: &str = r#"[rollout]
target = "2019-CU15"
setup_path = 'D:\Setup.exe'
diagnostic_data = "on"

[connection]
transport = "powershell"
user = 'CONTOSO\svc-exsetup'
password_env = "CUROLL_INSTALLER_PASSWORD"

[[server]]
name = "EX01"
fqdn = "ex01.contoso.local"
dag = "DAG01"
"#;

/// Parses `text` as the command layer does: the plan, then its `[lab]`.
fn parse_str(text: &str) -> Result<Plan, PlanError> {
    let plan = parse(text, Path::new("plans/t.toml"))?;
    crate::commands::lab::spec_of(&plan, text)?;
    Ok(plan)
}

/// Parses `text`, expecting an error at `line` whose message contains `needle`.
fn assert_fails(text: &str, line: usize, needle: &str) {
    match parse_str(text) {
        Ok(_) => panic!("plan was accepted, expected an error containing {needle:?}:\n{text}"),
        Err(e) => {
            let at = e.location().expect("content errors have a position");
            assert!(
                e.message().contains(needle),
                "message {:?} lacks {needle:?}",
                e.message()
            );
            assert_eq!(at.line, line, "wrong line for: {e}");
        }
    }
}

const PS_TRANSPORT: &str = "transport = \"powershell\"";
const PS_ACCOUNT: &str =
    "user = 'CONTOSO\\svc-exsetup'\npassword_env = \"CUROLL_INSTALLER_PASSWORD\"";

/// `MINIMAL` with `from` replaced by `to` (which must exist).
fn minimal_with(from: &str, to: &str) -> String {
    assert!(MINIMAL.contains(from), "{from:?} not in MINIMAL");
    // The transport line comes with the installer's account: a test that
    // rewrites the connection gets the account back unless it gives one.
    if from == PS_TRANSPORT {
        let account =
            if !to.starts_with(PS_TRANSPORT) || to.contains("user =") || to.contains("password_") {
                String::new()
            } else {
                format!("\n{PS_ACCOUNT}")
            };
        return MINIMAL.replacen(
            &format!("{PS_TRANSPORT}\n{PS_ACCOUNT}"),
            &format!("{to}{account}"),
            1,
        );
    }
    MINIMAL.replacen(from, to, 1)
}

#[test]
fn lab_plan_parses_with_every_key() {
    let plan = load_shipped("lab.toml");
    assert_eq!(plan.rollout.target, TargetSpec::CuId("2019-CU15".into()));
    assert_eq!(plan.rollout.security_update, SecurityUpdateChoice::Latest);
    assert_eq!(plan.rollout.setup_path, "D:\\Setup.exe");
    assert_eq!(plan.rollout.diagnostic_data, DiagnosticData::Off);
    assert_eq!(plan.connection.transport, Transport::Lab);
    assert_eq!(plan.policy.poll_interval, Duration::from_millis(200));
    assert_eq!(plan.policy.timeouts.setup, Duration::from_secs(300));
    assert_eq!(plan.dags(), vec!["DAG01".to_string()]);
    assert_eq!(plan.dag_members("dag01").count(), 3);
    let lab = shipped_lab("lab.toml");
    assert_eq!(lab.username, "lab\\admin");
    assert_eq!(lab.ad.org_object_version, 16763);
    assert_eq!(lab.timings.drain_per_message, Duration::from_millis(50));
    assert_eq!(lab.servers.len(), 3);
    assert_eq!(
        lab.servers[0].build,
        lab::build::ExchangeBuild::new(15, 2, 1748, 43)
    );
    assert_eq!(
        lab.servers[1].custom_app_settings,
        vec![("BackEndProxyTimeout".to_string(), "00:05:00".to_string())]
    );
    assert_eq!(lab.databases.len(), 4);
    assert_eq!(lab.databases[1].copies, ["EX02", "EX03", "EX01"]);
}

#[test]
fn lab_blocked_plan_has_old_dotnet_on_ex03_only() {
    let lab = shipped_lab("lab-blocked.toml");
    let release = |n: &str| {
        lab.servers
            .iter()
            .find(|s| s.name == n)
            .map(|s| s.dotnet_release)
    };
    assert_eq!(release("EX01"), Some(533320));
    assert_eq!(release("EX02"), Some(533320));
    assert_eq!(release("EX03"), Some(461814));
}

#[test]
fn example_production_plan_parses() {
    let plan = load_shipped("example-production.toml");
    assert!(!plan.has_lab);
    assert_eq!(plan.connection.transport, Transport::WinRm);
    assert_eq!(plan.connection.scheme, Scheme::Https);
    assert_eq!(plan.connection.port, 5986);
    assert_eq!(plan.connection.auth, AuthMethod::Ntlm);
    assert_eq!(
        plan.connection.secret,
        SecretSource::Env("CUROLL_PASSWORD".into())
    );
    assert_eq!(
        plan.rollout.setup_path,
        "E:\\ExchangeServer2019-x64-CU15\\Setup.exe"
    );
    assert_eq!(plan.policy.timeouts.setup, Duration::from_secs(4 * 3600));
    assert_eq!(plan.dag_members("DAG-HQ").count(), 4);
    assert_eq!(
        plan.servers[2].redirect_to.as_deref(),
        Some("exmbx04.contoso.local")
    );
}

/// Reads `# expect-line:` and `# expect-error:` from a fixture's header.
fn fixture_expectation(text: &str) -> (usize, String) {
    let header = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("fixture lacks {key}"))
    };
    (
        header("# expect-line:")
            .parse()
            .expect("expect-line is a number"),
        header("# expect-error:"),
    )
}

#[test]
fn bad_plan_fixtures_fail_at_their_line() {
    let dir = root().join("tests/fixtures/plans");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 11,
        "expected the 11 bad-plan fixtures, found {}",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).expect("fixture readable");
        let (line, needle) = fixture_expectation(&text);
        let err = match load_with_lab(&file) {
            Ok(_) => panic!("{} was accepted", file.display()),
            Err(e) => e,
        };
        let shown = err.to_string();
        let prefix = format!("{}:{line}:", file.display());
        assert!(
            shown.starts_with(&prefix),
            "{}: expected {prefix}…, got:\n{shown}",
            file.display()
        );
        assert!(
            shown.contains(&needle),
            "{}: expected {needle:?} in:\n{shown}",
            file.display()
        );
        assert!(
            !shown.contains("Summer2026"),
            "a secret leaked into the error:\n{shown}"
        );
    }
}

#[test]
fn defaults_apply_to_a_minimal_plan() {
    let plan = parse_str(MINIMAL).expect("minimal plan is valid");
    assert_eq!(plan.path, PathBuf::from("plans/t.toml"));
    assert_eq!(plan.rollout.security_update, SecurityUpdateChoice::None);
    let p = &plan.policy;
    assert_eq!(p.order, Order::PassiveFirst);
    assert_eq!(
        (
            p.min_healthy_copies,
            p.max_copy_queue,
            p.max_replay_queue,
            p.min_free_space_gb
        ),
        (None, 10, 50, 30)
    );
    assert!(
        !p.override_minimum_two_copies,
        "StartDagServerMaintenance.ps1's default: two copies left"
    );
    assert_eq!(p.redistribute, Redistribute::AfterEach);
    assert!(!p.pause_between);
    assert_eq!(p.prepare_ad, PrepareAd::Block);
    assert_eq!(p.poll_interval, Duration::from_secs(5));
    assert_eq!(p.max_parallel_dags, 1);
    let min = |m: u64| Duration::from_secs(60 * m);
    assert_eq!(
        p.timeouts,
        Timeouts {
            drain: min(30),
            setup: min(180),
            reboot: min(20),
            health: min(15),
            move_databases: min(15)
        }
    );
    let c = &plan.connection;
    assert_eq!(
        (c.scheme, c.port, c.auth),
        (Scheme::Https, 5986, AuthMethod::Ntlm)
    );
    assert_eq!(
        c.secret,
        SecretSource::Env("CUROLL_INSTALLER_PASSWORD".into())
    );
    assert_eq!(
        plan.rollout.installer_account,
        InstallerAccount::ConnectionUser
    );
    assert!(!c.allow_unencrypted && !c.insecure_skip_verify);
    assert_eq!(c.operation_timeout, Duration::from_secs(60));
}

#[test]
fn http_port_defaults_to_5985() {
    let plan = parse_str(&minimal_with(
        "transport = \"powershell\"",
        "transport = \"powershell\"\nscheme = \"http\"",
    ));
    assert_eq!(plan.expect("valid").connection.port, 5985);
}

#[test]
fn connection_port_zero_is_refused() {
    let text = minimal_with(
        "transport = \"powershell\"",
        "transport = \"powershell\"\nport = 0",
    );
    assert_fails(&text, 8, "port must be from 1 to 65535");
}

#[test]
fn sha256_is_stored_lower_case() {
    let upper = "AB".repeat(32);
    let plan = parse_str(&minimal_with(
        "diagnostic_data",
        &format!("setup_sha256 = \"{upper}\"\ndiagnostic_data"),
    ));
    assert_eq!(
        plan.expect("valid").rollout.setup_sha256,
        Some("ab".repeat(32))
    );
}

#[test]
fn fqdn_must_match_the_server_name() {
    assert_fails(
        &minimal_with("ex01.contoso.local", "ex02.contoso.local"),
        13,
        "does not belong to server 'EX01'",
    );
}

#[test]
fn server_list_may_not_be_empty() {
    let text = MINIMAL.split("[[server]]").next().expect("head");
    assert_fails(text, 1, "no servers");
}

#[test]
fn security_update_and_su_path_agree() {
    assert_fails(
        &minimal_with(
            "diagnostic_data",
            "security_update = \"latest\"\ndiagnostic_data",
        ),
        4,
        "su_path is missing",
    );
    assert_fails(
        &minimal_with(
            "diagnostic_data",
            "su_path = 'C:\\u\\x.msp'\ndiagnostic_data",
        ),
        4,
        "security_update is \"none\"",
    );
    let named = minimal_with(
        "diagnostic_data",
        "security_update = \"Feb26SU\"\nsu_path = 'C:\\u\\x.msp'\ndiagnostic_data",
    );
    assert_eq!(
        parse_str(&named).expect("valid").rollout.su_path.as_deref(),
        Some("C:\\u\\x.msp")
    );
}

#[test]
fn http_basic_needs_allow_unencrypted() {
    let winrm = "transport = \"winrm\"\nscheme = \"http\"\nauth = \"basic\"\nuser = \"admin\"\npassword_env = \"PW\"";
    assert_fails(
        &minimal_with("transport = \"powershell\"", winrm),
        9,
        "unencrypted",
    );
    let allowed = minimal_with(
        "transport = \"powershell\"",
        &format!("{winrm}\nallow_unencrypted = true"),
    );
    assert!(
        parse_str(&allowed)
            .expect("valid")
            .connection
            .allow_unencrypted
    );
}

#[test]
fn connection_secrets_are_checked() {
    let both = "transport = \"winrm\"\nuser = \"admin\"\npassword_env = \"PW\"\npassword_file = \"/run/pw\"";
    assert_fails(
        &minimal_with("transport = \"powershell\"", both),
        10,
        "not both",
    );
    assert_fails(
        &minimal_with("transport = \"powershell\"", "transport = \"winrm\""),
        7,
        "needs an account",
    );
    let file = "transport = \"winrm\"\nuser = 'CONTOSO\\svc'\npassword_file = \"/run/pw\"";
    let plan = parse_str(&minimal_with("transport = \"powershell\"", file)).expect("valid");
    assert_eq!(
        plan.connection.secret,
        SecretSource::File(PathBuf::from("/run/pw"))
    );
    assert_fails(
        &minimal_with(
            "transport = \"powershell\"",
            "transport = \"powershell\"\nuser = \"x\"",
        ),
        8,
        "no password source",
    );
}

/// The installer never runs as SYSTEM: the PowerShell transport (whose
/// connection is the signed-in user) needs an account for it, and
/// `installer_account = "system"` is refused with the rule setup fails.
#[test]
fn a_plan_that_would_run_setup_as_system_is_refused() {
    let bare = MINIMAL.replacen(&format!("{PS_TRANSPORT}\n{PS_ACCOUNT}"), PS_TRANSPORT, 1);
    assert_fails(&bare, 7, "needs an account for the installer");
    let system = MINIMAL.replacen(
        "diagnostic_data = \"on\"",
        "diagnostic_data = \"on\"\ninstaller_account = \"system\"",
        1,
    );
    assert_fails(&system, 5, "[Rule:DelegatedMailboxFirstInstall]");
    assert_fails(&system, 5, "Remove installer_account");
}

#[test]
fn zero_timeouts_and_counts_are_refused() {
    assert_fails(
        &format!("{MINIMAL}\n[policy]\nmin_healthy_copies = 0\n"),
        17,
        "at least 1",
    );
    assert_fails(
        &format!("{MINIMAL}\n[policy.timeouts]\nreboot = \"0s\"\n"),
        17,
        "longer than zero",
    );
}

#[test]
fn unknown_choice_names_the_allowed_values() {
    assert_fails(
        &format!("{MINIMAL}\n[policy]\norder = \"random\"\n"),
        17,
        "'random' is not allowed for 'order'; expected plan or passive-first",
    );
}

#[test]
fn toml_syntax_errors_have_a_position() {
    assert_fails(&minimal_with("[connection]", "[connection"), 6, "");
}

/// A lab plan with two servers; tests append databases and faults.
const LAB: &str = r#"[rollout]
target = "2019-CU15"
setup_path = 'D:\Setup.exe'
diagnostic_data = "off"

[connection]
transport = "lab"

[[server]]
name = "EX01"
fqdn = "ex01.contoso.local"
dag = "DAG01"

[lab]

[[lab.server]]
name = "EX01"
fqdn = "ex01.contoso.local"
build = "15.2.1544.39"
dotnet_release = 533320
os = "Microsoft Windows Server 2022 Datacenter"
ucma = true
url_rewrite = true
system_drive_free_gb = 100
pending_reboot = "component-based-servicing"
custom_app_settings = { "Z" = "1", "A" = "2", "M" = "3" }

[[lab.server]]
name = "EX02"
fqdn = "ex02.contoso.local"
build = "15.2.1544.39"
dotnet_release = 533320
os = "Microsoft Windows Server 2022 Datacenter"
ucma = true
url_rewrite = true
system_drive_free_gb = 100
port = 16000
"#;

#[test]
fn lab_defaults_and_details() {
    let text = format!(
        "{LAB}\n[[lab.database]]\nname = \"DB01\"\ncopies = [\"EX01\", \"EX02\"]\nactive = \"EX01\"\ncopy_status = {{ \"EX02\" = \"FailedAndSuspended\" }}\n\n[[lab.fault]]\nserver = \"EX02\"\nkind = \"copy-fails\"\ndatabase = \"DB01\"\ntimes = 1\nduring = \"ex01:enter-maintenance\"\n"
    );
    parse_str(&text).expect("valid");
    let lab = lab_str(&text);
    assert_eq!(
        (lab.base_port, lab.password.as_str()),
        (15985, "lab-only-password")
    );
    assert_eq!(lab.ad.domain_dn, "DC=contoso,DC=local");
    assert_eq!(lab.ad.schema_range_upper, 17003);
    assert_eq!(lab.timings.setup, Duration::from_secs(3));
    assert_eq!(lab.timings.database_move, Duration::from_millis(300));
    let keys: Vec<&str> = lab.servers[0]
        .custom_app_settings
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(keys, ["Z", "A", "M"], "appSettings keep the plan's order");
    assert_eq!(
        lab.servers[0].pending_reboot,
        Some(PendingReboot::ComponentBasedServicing)
    );
    assert_eq!(
        (lab.servers[0].port, lab.servers[1].port),
        (None, Some(16000))
    );
    assert_eq!(
        lab.databases[0].copy_status,
        vec![("EX02".to_string(), LabCopyStatus::FailedAndSuspended)]
    );
    assert_eq!(
        lab.faults[0].during.as_deref(),
        Some("EX01:enter-maintenance")
    );
    assert_eq!(lab.faults[0].times, Some(1));
}

#[test]
fn lab_transport_needs_lab_and_every_server_in_it() {
    let no_lab = LAB.split("[lab]").next().expect("head");
    assert_fails(no_lab, 7, "needs a [lab] section");
    let extra = LAB.replacen(
        "[lab]",
        "[[server]]\nname = \"EX03\"\nfqdn = \"ex03.contoso.local\"\ndag = \"DAG01\"\n\n[lab]",
        1,
    );
    assert_fails(&extra, 15, "server 'EX03' has no [[lab.server]]");
}

#[test]
fn lab_database_rules() {
    let db = |body: &str| format!("{LAB}\n[[lab.database]]\nname = \"DB01\"\n{body}\n");
    assert_fails(&db("copies = [\"EX01\", \"EX02\"]\nactive = \"EX01\"\ncopy_status = { \"EX01\" = \"Healthy\" }"), 43, "active copy");
    assert_fails(
        &db("copies = [\"EX01\"]\nactive = \"EX02\""),
        42,
        "must be one of copies",
    );
    assert_fails(
        &db("copies = [\"EX01\", \"EX01\"]\nactive = \"EX01\""),
        41,
        "twice",
    );
    assert_fails(&db("copies = [\"EX01\", \"EX02\"]\nactive = \"EX01\"\ncopy_status = { \"EX02\" = \"Broken\" }"), 43, "'Broken' is not allowed");
}

#[test]
fn lab_fault_rules() {
    let fault = |body: &str| format!("{LAB}\n[[lab.fault]]\nserver = \"EX02\"\n{body}\n");
    assert_fails(&fault("kind = \"copy-fails\""), 41, "needs database");
    assert_fails(
        &fault("kind = \"setup-fails\"\ntimes = 0"),
        42,
        "at least 1",
    );
    assert_fails(
        &fault("kind = \"setup-fails\"\nduring = \"EX02:install\""),
        42,
        "'<server>:<step>'",
    );
    assert_fails(
        &fault("kind = \"setup-fails\"\nduring = \"EX09:setup\""),
        42,
        "not a lab server",
    );
}

#[test]
fn lab_server_rules() {
    assert_fails(
        &LAB.replacen("build = \"15.2.1544.39\"", "build = \"15.2.1544\"", 1),
        19,
        "not an Exchange build",
    );
    assert_fails(
        &LAB.replacen("port = 16000", "port = 15985", 1),
        37,
        "already uses",
    );
    assert_fails(
        &LAB.replacen(
            "system_drive_free_gb = 100\nport",
            "system_drive_free_gb = 100\nvcredist_2014 = 1\nport",
            1,
        ),
        37,
        "unknown key 'vcredist_2014' in [[lab.server]]",
    );
}

proptest! {
    /// No string holding a quote or a semicolon is ever a server name: such
    /// a value could close a PowerShell literal.
    #[test]
    fn hostile_characters_never_make_a_server_name(
        prefix in "[A-Za-z0-9'; -]{0,8}",
        bad in prop::sample::select(vec!['\'', ';']),
        suffix in "[A-Za-z0-9'; -]{0,8}",
    ) {
        let name = format!("{prefix}{bad}{suffix}");
        prop_assert!(planfile::values::check_netbios("server name", &name).is_err());
        let text = minimal_with("name = \"EX01\"", &format!("name = {}", toml::Value::String(name)));
        prop_assert!(parse_str(&text).is_err());
    }
}

/// Regression: `Spanned` around a whole table made `[lab.ad]` without a
/// `[lab]` header fail with "expected a borrowed string".
#[test]
fn child_table_without_parent_header_reports_the_real_key() {
    let text = LAB.replacen("[lab]\n", "", 1).replacen(
        "[[lab.server]]",
        "[lab.ad]\nschema = 1\n\n[[lab.server]]",
        1,
    );
    assert_fails(&text, 16, "unknown key 'schema' in [lab.ad]");
}

#[test]
fn missing_section_is_named() {
    assert_fails("", 1, "missing section [rollout]");
}

#[test]
fn su_sha256_needs_su_path_and_is_stored_lower_case() {
    assert_fails(
        &minimal_with(
            "diagnostic_data",
            &format!("su_sha256 = \"{}\"\ndiagnostic_data", "ab".repeat(32)),
        ),
        4,
        "su_sha256 is set but su_path is not",
    );
    assert_fails(
        &minimal_with(
            "diagnostic_data",
            "security_update = \"latest\"\nsu_path = 'C:\\u\\x.msp'\nsu_sha256 = \"xyz\"\ndiagnostic_data",
        ),
        6,
        "su_sha256 'xyz' is not a sha256 digest",
    );
    let ok = minimal_with(
        "diagnostic_data",
        &format!(
            "security_update = \"latest\"\nsu_path = 'C:\\u\\x.msp'\nsu_sha256 = \"{}\"\ndiagnostic_data",
            "CD".repeat(32)
        ),
    );
    assert_eq!(
        parse_str(&ok).expect("valid").rollout.su_sha256,
        Some("cd".repeat(32))
    );
}

#[test]
fn ad_replication_wait_defaults_to_15_minutes_and_may_be_zero() {
    let plan = parse_str(MINIMAL).expect("valid");
    assert_eq!(
        plan.policy.ad_replication_wait,
        std::time::Duration::from_secs(15 * 60)
    );
    let zero = format!("{MINIMAL}\n[policy]\nad_replication_wait = \"0s\"\n");
    assert_eq!(
        parse_str(&zero).expect("valid").policy.ad_replication_wait,
        std::time::Duration::ZERO
    );
}

#[test]
fn not_after_is_read_with_its_zone_and_a_bad_one_is_refused_at_its_line() {
    let text = format!(
        "{MINIMAL}\n[policy]\nnot_after = \"2026-12-08T06:00:00+01:00\"\nserver_estimate = \"3h30m\"\n"
    );
    let plan = parse_str(&text).unwrap();
    let end = plan.policy.not_after.clone().expect("not_after");
    assert_eq!(end.text, "2026-12-08T06:00:00+01:00");
    assert_eq!(end.unix_ms, 1_796_706_000_000);
    assert_eq!(
        plan.policy.estimated_server_duration(),
        Duration::from_secs(3 * 3600 + 30 * 60)
    );
    let last_line = |t: &str| t.lines().count();
    let bad = format!("{MINIMAL}\n[policy]\nnot_after = \"06:00\"\n");
    assert_fails(&bad, last_line(&bad), "expected a local time with its zone");
    let zero = format!("{MINIMAL}\n[policy]\nserver_estimate = \"0s\"\n");
    assert_fails(
        &zero,
        last_line(&zero),
        "server_estimate must be longer than zero",
    );
}
