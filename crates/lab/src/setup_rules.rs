//! Setup's account rules in the lab: which account runs setup (the
//! principal of the scheduled task whose batch started it, else the lab's
//! own account), what `Logged on user:` says, and the prerequisite rules
//! real setup fails when that account lacks the Exchange rights. SYSTEM acts
//! in Active Directory as the server's computer account, which is in no
//! Exchange role group, so setup run as SYSTEM fails here as it does on a
//! real server. This module only judges the account and writes the rule
//! lines; the rest of a setup run (timing, services, exit code) is `setup`'s.
//!
//! Sources: the rule names and messages are copied from CSS-Exchange's
//! SetupLogReviewer test logs (MIT), `tests/fixtures/real/setup-logs/`:
//! `ExchangeSetup_ADUpdated_NoOrgMan.log` lines 1770-1776 (an upgrade,
//! `Mode:Upgrade`, run by an account outside Organization Management) and
//! `ExchangeSetup_AD_Prep_Reboot.log` line 459 (`GlobalUpdateRequired`).

use crate::model::{ProgramKind, SetupFailure};
use crate::world::World;
use crate::worldinit::stamp;

/// `[lab] org_management` when a saved world predates the key.
pub(crate) fn default_org_management() -> bool {
    true
}

/// The rules an upgrade fails when its account is not in Organization
/// Management, in the order the NoOrgMan capture lists them.
const UPGRADE_RULES: [(&str, &str); 5] = [
    ("DelegatedBridgeheadFirstInstall", "You must use an account that's a member of the Organization Management role group to install or upgrade the first Mailbox server role in the topology."),
    ("DelegatedCafeFirstInstall", "You must use an account that's a member of the Organization Management role group to install the first Client Access server role in the topology."),
    ("DelegatedFrontendTransportFirstInstall", "You must use an account that's a member of the Organization Management role group to install the first Client Access server role in the topology."),
    ("DelegatedMailboxFirstInstall", "You must use an account that's a member of the Organization Management role group to install or upgrade the first Mailbox server role in the topology."),
    ("DelegatedClientAccessFirstInstall", "You must use an account that's a member of the Organization Management role group to install or upgrade the first Client Access server role in the topology."),
];

/// The rule `/PrepareAD` fails when its account is not an Enterprise
/// Admin. UNVERIFIED that a `/Prepare*` run evaluates exactly this rule
/// (the capture is a `/Mode:Upgrade` run needing AD updates); the rule and
/// its message are real.
const AD_PREPARATION_RULE: (&str, &str) = ("GlobalUpdateRequired", "Global updates need to be made to Active Directory, and this user account isn't a member of the 'Enterprise Admins' group.");

/// Whether `user` names the local system account (as `New-ScheduledTaskPrincipal
/// -UserId` accepts it) or a computer account (`NAME$`).
pub(crate) fn is_system(user: &str) -> bool {
    let u = user.trim().to_ascii_lowercase();
    matches!(
        u.as_str(),
        "system" | "nt authority\\system" | "localsystem" | "s-1-5-18"
    ) || u.ends_with('$')
}

/// `DOMAIN\user` → `user`, lower-case, for comparing account names.
fn short(user: &str) -> String {
    user.rsplit('\\')
        .next()
        .unwrap_or(user)
        .split('@')
        .next()
        .unwrap_or(user)
        .to_ascii_lowercase()
}

impl World {
    /// The account running programs on server `i`: the principal of the
    /// scheduled task whose batch runs, else the lab's own account (the
    /// session's user, `[lab] username`).
    pub(crate) fn runner(&self, i: usize) -> String {
        let lab_account = || {
            self.account
                .as_ref()
                .map_or_else(|| "Administrator".to_string(), |(u, _)| u.clone())
        };
        self.servers[i]
            .batch
            .as_ref()
            .and_then(|b| b.task.as_deref())
            .and_then(|name| self.task(i, name))
            .map_or_else(lab_account, |t| t.user_id.clone())
    }

    /// `Logged on user:` as setup writes it, e.g. `NT AUTHORITY\SYSTEM.`'s subject.
    pub(crate) fn logged_on_user(&self, i: usize) -> String {
        let user = self.runner(i);
        if is_system(&user) && !user.ends_with('$') {
            r"NT AUTHORITY\SYSTEM".to_string()
        } else {
            user
        }
    }

    /// Whether `user` has setup's rights: the lab account while `[lab]
    /// org_management` holds. SYSTEM and any other account do not.
    fn has_exchange_rights(&self, user: &str) -> bool {
        !is_system(user)
            && self.account_org_management
            && self
                .account
                .as_ref()
                .is_some_and(|(u, _)| short(u) == short(user))
    }

    /// At the end of an upgrade's prerequisite analysis: `Some(failure)`
    /// when the account running it lacks Organization Management. The
    /// rules before the last are written to the log now; the last becomes
    /// the run's failure, which `finish_program` writes with its
    /// `[REQUIRED]` and help lines as for any failed rule.
    pub(crate) fn account_rule_failure(&mut self, i: usize) -> Option<SetupFailure> {
        let is_upgrade = self.servers[i]
            .batch
            .as_ref()
            .and_then(|b| b.program.as_ref())
            .is_some_and(|p| matches!(p.kind, ProgramKind::MediaSetup { .. }));
        // Edge setup reads no AD: its local administrator has the rights.
        let edge_admin = self.servers[i]
            .edge
            .as_ref()
            .is_some_and(|e| crate::edge::local_account(e, &self.servers[i].name, &self.runner(i)));
        if !is_upgrade || edge_admin || self.has_exchange_rights(&self.runner(i)) {
            return None;
        }
        let (last, earlier) = UPGRADE_RULES.split_last()?;
        let lines: Vec<String> = earlier
            .iter()
            .map(|(rule, message)| format!("Failed [Rule:{rule}] [Message:{message}]"))
            .collect();
        self.log_lines(i, &lines);
        Some(SetupFailure::Rule {
            rule: last.0.to_string(),
            message: last.1.to_string(),
        })
    }

    /// When a `/Prepare*` run starts: `Some(failure)` when its account
    /// lacks the rights (Schema and Enterprise Admins; the lab's account has
    /// them exactly when it is in Organization Management). The whole
    /// failure is logged now: AD preparation has no later readiness point.
    pub(crate) fn ad_preparation_account_failure(&mut self, i: usize) -> Option<SetupFailure> {
        if self.has_exchange_rights(&self.runner(i)) {
            return None;
        }
        let (rule, message) = AD_PREPARATION_RULE;
        self.log_lines(
            i,
            &[
                format!("Failed [Rule:{rule}] [Message:{message}]"),
                format!("[REQUIRED] {message}"),
                format!("Help URL: http://technet.microsoft.com/library(EXCHG.150)/ms.exch.setupreadiness.{rule}.aspx"),
                crate::setup::SETUP_DIDNT_COMPLETE.to_string(),
                "End of Setup".to_string(),
                "**********************************************".to_string(),
            ],
        );
        Some(SetupFailure::Rule {
            rule: rule.to_string(),
            message: message.to_string(),
        })
    }

    /// Appends stamped lines to server `i`'s ExchangeSetup.log.
    fn log_lines(&mut self, i: usize, lines: &[String]) {
        let now = self.now_ms;
        let s = &mut self.servers[i];
        for line in lines {
            s.setup_log
                .push_str(&format!("{} [0] {line}\r\n", stamp(now)));
        }
        s.setup_log_written_ms = now;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn system_and_computer_accounts_are_recognised() {
        for u in [
            "SYSTEM",
            "NT AUTHORITY\\SYSTEM",
            "LocalSystem",
            "S-1-5-18",
            "CONTOSO\\EX01$",
        ] {
            assert!(is_system(u), "{u}");
        }
        for u in ["lab\\admin", "CONTOSO\\svc-exsetup", "admin@contoso.local"] {
            assert!(!is_system(u), "{u}");
        }
        assert_eq!(short("CONTOSO\\Admin"), short("admin@contoso.local"));
    }

    /// The rule lines are the capture's, word for word.
    #[test]
    fn the_rules_are_the_captured_ones() {
        let no_org_man = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/real/setup-logs/ExchangeSetup_ADUpdated_NoOrgMan.log"
        ));
        for (rule, message) in UPGRADE_RULES {
            let line = format!("Failed [Rule:{rule}] [Message:{message}]");
            assert!(no_org_man.contains(&line), "{line}");
        }
        let ad_prep = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/real/setup-logs/ExchangeSetup_AD_Prep_Reboot.log"
        ));
        let (rule, message) = AD_PREPARATION_RULE;
        assert!(ad_prep.contains(&format!("Failed [Rule:{rule}] [Message:{message}]")));
    }

    /// The product's installer start, as `exchange::act` renders it: a
    /// batch running the media's setup, started by a scheduled task under
    /// `principal` (a `New-ScheduledTaskPrincipal` or `-User`/`-Password` line).
    fn start_setup(world: &mut World, now: i64, register: &str) {
        let script = format!(
            r#"$dir = Join-Path -Path $env:SystemDrive -ChildPath 'cu-roll'
New-Item -ItemType Directory -Path $dir -Force | Out-Null
$batch = Join-Path -Path $dir -ChildPath 'setup.cmd'
Set-Content -Path $batch -Value @('@echo off', '"D:\Setup.exe" /Mode:Upgrade /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF', '>"%SystemDrive%\cu-roll\setup.exitcode" echo %ERRORLEVEL%') -Encoding ASCII
$action = New-ScheduledTaskAction -Execute $batch
{register}
Start-ScheduledTask -TaskName 'cu-roll-setup'
"#
        );
        let out = crate::store::run_ps_in(world, "EX02", &script, now).unwrap();
        assert_eq!(out.exit_code, 0, "{}", out.stderr);
    }

    /// Runs setup on EX02 (CU14 → the CU15 media) under `register`; the
    /// exit code the batch wrote, and ExchangeSetup.log.
    fn setup_as(org_management: bool, register: &str) -> (String, String) {
        let mut spec = crate::testkit::three_member_spec();
        spec.org_management = org_management;
        setup_in(&spec, register)
    }

    /// Runs setup on EX02 of the lab `spec` under `register` (see `setup_as`).
    pub(crate) fn setup_in(spec: &crate::spec::LabSpec, register: &str) -> (String, String) {
        let t0 = crate::testkit::T0;
        let mut world = World::from_spec(spec, &spec.dag, t0);
        start_setup(&mut world, t0, register);
        let later = t0 + 10_000;
        let exit = crate::store::run_cmd_in(
            &mut world,
            "EX02",
            r"type %SystemDrive%\cu-roll\setup.exitcode",
            later,
        )
        .unwrap();
        let i = world.server_index("EX02").unwrap();
        // This run only: the log starts with the server's first install.
        let log = &world.servers[i].setup_log;
        let run = log
            .rfind("Starting Microsoft Exchange")
            .map_or("", |at| &log[at..]);
        (exit.stdout.trim().to_string(), run.to_string())
    }

    const AS_SYSTEM: &str = "$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest\nRegister-ScheduledTask -TaskName 'cu-roll-setup' -Action $action -Principal $principal -Force | Out-Null";
    pub(crate) const AS_LAB_ADMIN: &str = "$password = 'lab-only-password'\nRegister-ScheduledTask -TaskName 'cu-roll-setup' -Action $action -User 'lab\\admin' -Password $password -RunLevel Highest -Force | Out-Null";

    /// How cu-roll registers it now: the Task Scheduler's COM objects.
    const AS_LAB_ADMIN_COM: &str = r"$password = 'lab-only-password'
$service = New-Object -ComObject 'Schedule.Service'
$service.Connect()
$definition = $service.NewTask(0)
$definition.Principal.RunLevel = 1
$exec = $definition.Actions.Create(0)
$exec.Path = $batch
$null = $service.GetFolder('\').RegisterTaskDefinition('cu-roll-setup', $definition, 6, 'lab\admin', $password, 1)";

    /// The task cu-roll registered before this change (SYSTEM): setup acts
    /// as the computer account and fails the Organization Management rules
    /// with the capture's lines, as real setup does.
    #[test]
    fn setup_run_as_system_fails_the_organization_management_rules() {
        let (exit, log) = setup_as(true, AS_SYSTEM);
        assert_eq!(exit, "1", "{log}");
        assert!(
            log.contains("Logged on user: NT AUTHORITY\\SYSTEM."),
            "{log}"
        );
        for (rule, message) in UPGRADE_RULES {
            assert!(
                log.contains(&format!("Failed [Rule:{rule}] [Message:{message}]")),
                "{rule}: {log}"
            );
        }
        assert!(log.contains(crate::setup::SETUP_DIDNT_COMPLETE), "{log}");
        assert!(!log.contains("completed successfully"), "{log}");
    }

    #[test]
    fn setup_run_as_the_lab_admin_passes_them() {
        let (exit, log) = setup_as(true, AS_LAB_ADMIN);
        assert_eq!(exit, "0", "{log}");
        assert!(log.contains("Logged on user: lab\\admin."), "{log}");
        assert!(!log.contains("[Rule:Delegated"), "{log}");
    }

    #[test]
    fn setup_run_as_the_lab_admin_through_the_com_api_passes_them() {
        let (exit, log) = setup_as(true, AS_LAB_ADMIN_COM);
        assert_eq!(exit, "0", "{log}");
        assert!(log.contains("Logged on user: lab\\admin."), "{log}");
        let (exit, log) = setup_as(false, AS_LAB_ADMIN_COM);
        assert_eq!(exit, "1", "{log}");
        assert!(
            log.contains("Failed [Rule:DelegatedMailboxFirstInstall]"),
            "{log}"
        );
    }

    #[test]
    fn an_account_outside_organization_management_fails_them_too() {
        let (exit, log) = setup_as(false, AS_LAB_ADMIN);
        assert_eq!(exit, "1", "{log}");
        assert!(
            log.contains("Failed [Rule:DelegatedMailboxFirstInstall]"),
            "{log}"
        );
    }

    #[test]
    fn prepare_ad_as_system_fails_global_update_required() {
        let spec = crate::testkit::three_member_spec();
        let t0 = crate::testkit::T0;
        let mut world = World::from_spec(&spec, &spec.dag, t0);
        let before = world.ad.clone();
        let register = AS_SYSTEM.to_string();
        let script = format!(
            r#"$batch = 'C:\cu-roll\prep.cmd'
New-Item -ItemType Directory -Path 'C:\cu-roll' -Force | Out-Null
Set-Content -Path $batch -Value @('@echo off', '"D:\Setup.exe" /PrepareAD /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF', '>"%SystemDrive%\cu-roll\prep.exitcode" echo %ERRORLEVEL%') -Encoding ASCII
$action = New-ScheduledTaskAction -Execute $batch
{register}
Start-ScheduledTask -TaskName 'cu-roll-setup'
"#
        );
        let out = crate::store::run_ps_in(&mut world, "EX02", &script, t0).unwrap();
        assert_eq!(out.exit_code, 0, "{}", out.stderr);
        let exit = crate::store::run_cmd_in(
            &mut world,
            "EX02",
            r"type %SystemDrive%\cu-roll\prep.exitcode",
            t0 + 10_000,
        )
        .unwrap();
        let i = world.server_index("EX02").unwrap();
        let log = &world.servers[i].setup_log;
        assert_eq!(exit.stdout.trim(), "1", "{log}");
        assert!(log.contains("Failed [Rule:GlobalUpdateRequired]"), "{log}");
        assert_eq!(world.ad, before, "nothing in AD changed");
    }
}
