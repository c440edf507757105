//! A realistic report for the renderers' tests: a 3-member DAG on its way
//! from Exchange 2019 CU14 Feb26SU to CU15 Feb26SU, where EX01 is ready,
//! EX02 is already at the target and EX03 is blocked (old .NET, someone
//! else's maintenance, a lagging copy; its pending reboot only warns, as
//! the rollout reboots before setup).

use crate::preflight::model::{
    AdLevels, AdPreparation, BlockerCode, ComponentState, CopyHealth, MaintenanceState,
    OverallVerdict, Prerequisite, Report, ServerReport, TargetInfo, Verdict,
};

/// Which AD situation the report describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ad {
    /// The organisation is already prepared for CU15.
    Prepared,
    /// The organisation is at CU14's objectVersion: `/PrepareAD` must run first.
    NeedsPrepareAd,
}

pub fn report(ad: Ad) -> Report {
    let required = AdLevels {
        schema_range_upper: 17003,
        org_object_version: 16763,
        domain_object_version: 13243,
    };
    let ad_preparation = match ad {
        Ad::Prepared => AdPreparation {
            found: Some(required),
            required,
            needs_prepare_schema: Some(false),
            needs_prepare_ad: Some(false),
            needs_prepare_domain: Some(false),
            commands: Vec::new(),
            after_security_update: None,
            error: None,
        },
        Ad::NeedsPrepareAd => AdPreparation {
            found: Some(AdLevels {
                org_object_version: 16762,
                ..required
            }),
            required,
            needs_prepare_schema: Some(false),
            needs_prepare_ad: Some(true),
            needs_prepare_domain: Some(false),
            commands: vec![
                r"D:\Setup.exe /IAcceptExchangeServerLicenseTerms_DiagnosticDataOFF /PrepareAD"
                    .to_owned(),
            ],
            after_security_update: None,
            error: None,
        },
    };
    let blocker_codes = match ad {
        Ad::Prepared => Vec::new(),
        Ad::NeedsPrepareAd => vec![BlockerCode::AdPreparation],
    };
    let blockers = match ad {
        Ad::Prepared => Vec::new(),
        Ad::NeedsPrepareAd => vec![
            "Active Directory is not prepared for Exchange Server 2019 CU15: organisation \
             objectVersion is 16762, the target needs 16763; run /PrepareAD first \
             (Enterprise Admins, in the schema master's domain and site)"
                .to_owned(),
        ],
    };
    Report {
        schema_version: crate::preflight::model::SCHEMA_VERSION,
        tool_version: "0.1.0".to_owned(),
        generated_at: "2026-03-02T08:15:00Z".to_owned(),
        plan: "plans/lab-blocked.toml".to_owned(),
        target: TargetInfo {
            name: "Exchange Server 2019 CU15 Feb26SU".to_owned(),
            build: "15.2.1748.43".to_owned(),
            cu_name: "Exchange Server 2019 CU15".to_owned(),
            cu_build: "15.2.1748.10".to_owned(),
            security_update: Some("Feb26SU".to_owned()),
            security_update_build: Some("15.2.1748.43".to_owned()),
            released: Some("2026-02-10".to_owned()),
            notes: vec![
                "Exchange Server 2019 reached end of support on 2025-10-14; \
                 updates come only through the Extended Security Update programme"
                    .to_owned(),
            ],
        },
        ad_preparation,
        servers: vec![ex01_ready(), ex02_up_to_date(), ex03_blocked()],
        blockers,
        blocker_codes,
        verdict: OverallVerdict::Blocked,
    }
}

fn prereqs(dotnet_found: &str, dotnet_ok: bool) -> Vec<Prerequisite> {
    let p = |name: &str, required: &str, found: &str, ok: bool| Prerequisite {
        name: name.to_owned(),
        required: required.to_owned(),
        found: found.to_owned(),
        ok,
    };
    vec![
        p(
            ".NET Framework",
            "4.8 (Release 528040) or later",
            dotnet_found,
            dotnet_ok,
        ),
        p("Visual C++ 2012", "11.0.61030", "11.0.61030", true),
        p("Visual C++ 2013", "12.0.40664", "12.0.40664", true),
        p("UCMA 4.0", "installed", "installed", true),
        p("IIS URL Rewrite", "2.1", "2.1", true),
        p(
            "Windows Server",
            "2019, 2022 or 2025",
            "Windows Server 2022",
            true,
        ),
    ]
}

fn healthy_maintenance() -> MaintenanceState {
    MaintenanceState {
        in_maintenance: false,
        inactive_components: Vec::new(),
        activation_policy: Some("Unrestricted".to_owned()),
        activation_disabled_and_move_now: Some(false),
        cluster_node: Some("Up".to_owned()),
    }
}

fn copy(db: &str, server: &str, status: &str, active: bool, ap: u32) -> CopyHealth {
    CopyHealth {
        name: format!(r"{db}\{server}"),
        database: db.to_owned(),
        status: status.to_owned(),
        active,
        activation_preference: Some(ap),
        copy_queue_length: Some(0),
        replay_queue_length: Some(0),
        content_index_state: "NotApplicable".to_owned(),
        activation_suspended: false,
        lagged: false,
        ok: true,
    }
}

fn ex01_ready() -> ServerReport {
    ServerReport {
        name: "EX01".to_owned(),
        fqdn: "ex01.contoso.local".to_owned(),
        dag: Some("DAG01".to_owned()),
        build: Some("15.2.1544.39".to_owned()),
        build_name: Some("Exchange Server 2019 CU14 Feb26SU".to_owned()),
        needs_upgrade: Some(true),
        os: Some("Windows Server 2022".to_owned()),
        prerequisites: prereqs("4.8.1 (Release 533320)", true),
        pending_reboot: Some(false),
        pending_reboot_reasons: Vec::new(),
        system_drive_free_gb: Some(61.4),
        install_drive: None,
        install_drive_free_gb: None,
        maintenance: Some(healthy_maintenance()),
        copies: vec![
            copy("DB01", "EX01", "Mounted", true, 1),
            copy("DB02", "EX01", "Healthy", false, 2),
            copy("DB03", "EX01", "Healthy", false, 3),
        ],
        queued_messages: Some(0),
        verdict: Verdict::Ready,
        blockers: Vec::new(),
        blocker_codes: Vec::new(),
        warnings: Vec::new(),
        error: None,
    }
}

fn ex02_up_to_date() -> ServerReport {
    ServerReport {
        name: "EX02".to_owned(),
        fqdn: "ex02.contoso.local".to_owned(),
        dag: Some("DAG01".to_owned()),
        build: Some("15.2.1748.43".to_owned()),
        build_name: Some("Exchange Server 2019 CU15 Feb26SU".to_owned()),
        needs_upgrade: Some(false),
        os: Some("Windows Server 2022".to_owned()),
        prerequisites: prereqs("4.8.1 (Release 533320)", true),
        pending_reboot: Some(false),
        pending_reboot_reasons: Vec::new(),
        system_drive_free_gb: Some(112.0),
        install_drive: None,
        install_drive_free_gb: None,
        maintenance: Some(healthy_maintenance()),
        copies: vec![
            copy("DB01", "EX02", "Healthy", false, 2),
            copy("DB02", "EX02", "Mounted", true, 1),
            copy("DB04", "EX02", "Healthy", false, 2),
        ],
        queued_messages: Some(0),
        verdict: Verdict::UpToDate,
        blockers: Vec::new(),
        blocker_codes: Vec::new(),
        warnings: Vec::new(),
        error: None,
    }
}

fn ex03_blocked() -> ServerReport {
    let mut lagging = copy("DB03", "EX03", "Healthy", false, 2);
    lagging.copy_queue_length = Some(12);
    lagging.replay_queue_length = Some(250);
    lagging.ok = false;
    ServerReport {
        name: "EX03".to_owned(),
        fqdn: "ex03.contoso.local".to_owned(),
        dag: Some("DAG01".to_owned()),
        build: Some("15.2.1544.39".to_owned()),
        build_name: Some("Exchange Server 2019 CU14 Feb26SU".to_owned()),
        needs_upgrade: Some(true),
        os: Some("Windows Server 2022".to_owned()),
        prerequisites: prereqs("4.7.2 (Release 461814)", false),
        pending_reboot: Some(true),
        pending_reboot_reasons: vec![
            r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\PendingFileRenameOperations"
                .to_owned(),
        ],
        system_drive_free_gb: Some(38.2),
        install_drive: None,
        install_drive_free_gb: None,
        maintenance: Some(MaintenanceState {
            in_maintenance: true,
            inactive_components: vec![
                ComponentState {
                    component: "HubTransport".to_owned(),
                    state: "Draining".to_owned(),
                    requesters: vec!["Maintenance".to_owned()],
                },
                ComponentState {
                    component: "ServerWideOffline".to_owned(),
                    state: "Inactive".to_owned(),
                    requesters: vec!["Maintenance".to_owned(), "Functional".to_owned()],
                },
            ],
            activation_policy: Some("Blocked".to_owned()),
            activation_disabled_and_move_now: Some(true),
            cluster_node: Some("Paused".to_owned()),
        }),
        copies: vec![
            copy("DB01", "EX03", "Healthy", false, 3),
            lagging,
            copy("DB04", "EX03", "Mounted", true, 1),
        ],
        queued_messages: Some(3),
        verdict: Verdict::Blocked,
        blockers: vec![
            ".NET Framework does not meet Exchange Server 2019 CU15: found 4.7.2 \
             (Release 461814), requires 4.8 (Release 528040) or later"
                .to_owned(),
            "already in maintenance (ServerWideOffline Inactive by Maintenance, \
             Functional; activation Blocked; cluster node Paused): finish or undo that \
             maintenance before a rollout starts; cu-roll does not clear maintenance it did not start"
                .to_owned(),
            r"database copy DB03\EX03 has a replay queue of 250 logs (limit 50)".to_owned(),
        ],
        blocker_codes: vec![
            BlockerCode::PrereqDotnet,
            BlockerCode::InMaintenance,
            BlockerCode::CopyUnhealthy,
        ],
        warnings: vec![
            "a reboot is pending (PendingFileRenameOperations); the rollout reboots the server \
             before setup"
                .to_owned(),
            "3 messages are queued; they are drained to other members before setup".to_owned(),
            r"database copy DB03\EX03 has a copy queue of 12 logs".to_owned(),
        ],
        error: None,
    }
}
