//! For tests that drive the lab with a clock they control (the lab's own,
//! and a client's tests that send real scripts through it): a starting
//! time, the three-member DAG of the shipped `plans/lab.toml` built in
//! code, and `run_ps_in`/`run_cmd_in`, which run a script on a world at a
//! given instant without touching any file. Nothing here is used by the
//! lab's own simulation.

use std::time::Duration;

pub use crate::store::{run_cmd_in, run_ps_fed, run_ps_in};
use crate::{LabAd, LabDatabase, LabMedia, LabMediaKind, LabServer, LabSpec, LabTimings};

/// A fixed start time (ms since the Unix epoch, 2026-02-02).
pub const T0: i64 = 1_770_000_000_000;

fn server(name: &str, build: &str, free: u64, queue: u32) -> LabServer {
    LabServer {
        name: name.to_string(),
        fqdn: format!("{}.contoso.local", name.to_ascii_lowercase()),
        build: build.parse().unwrap(),
        dotnet_release: 533_320,
        os: "Microsoft Windows Server 2022 Datacenter".to_string(),
        vcredist_2012: Some(184_610_406),
        vcredist_2013: Some(201_367_256),
        ucma: true,
        url_rewrite: true,
        pending_reboot: None,
        system_drive_free_gb: free,
        install_drive_free_gb: None,
        ccm_client: false,
        staging_folder_open: false,
        setup_log_earlier_mb: 0,
        queue_messages: queue,
        um_calls: 0,
        custom_app_settings: Vec::new(),
        port: None,
        activation_policy: crate::model::ActivationPolicy::Unrestricted,
        standalone: false,
        extended_protection: None,
        rpc_ssl_offloading: false,
        edge: None,
        dag: String::new(),
    }
}

fn db(name: &str, copies: [&str; 3]) -> LabDatabase {
    LabDatabase {
        name: name.to_string(),
        copies: copies.iter().map(|s| s.to_string()).collect(),
        active: copies[0].to_string(),
        copy_status: Vec::new(),
        replay_lag: Vec::new(),
    }
}

/// The `[lab]` of the product's plans/lab.toml, built by hand: the lab
/// does not read plan files for its own tests.
pub fn three_member_spec() -> LabSpec {
    let mut ex02 = server("EX02", "15.2.1544.39", 95, 12);
    ex02.custom_app_settings = vec![("BackEndProxyTimeout".to_string(), "00:05:00".to_string())];
    LabSpec {
        dag: crate::spec::DEFAULT_DAG.to_string(),
        base_port: 15985,
        username: "lab\\admin".to_string(),
        password: "lab-only-password".to_string(),
        org_management: true,
        witness_reachable: true,
        load_balancer: Default::default(),
        ad: LabAd {
            schema_range_upper: 17003,
            org_object_version: 16763,
            domain_object_version: 13243,
            organization: "Contoso".to_string(),
            domain_dn: "DC=contoso,DC=local".to_string(),
            domain_controllers: Vec::new(),
            replication_delay: Duration::from_secs(15),
            unreachable_domain_controllers: Vec::new(),
        },
        timings: LabTimings {
            setup: Duration::from_secs(3),
            reboot: Duration::from_secs(1),
            drain_per_message: Duration::from_millis(50),
            database_move: Duration::from_millis(300),
            security_update: Duration::from_secs(1),
            resync: Duration::from_millis(300),
            call_latency: Duration::ZERO,
            powershell_start: Duration::ZERO,
            exchange_session: Duration::ZERO,
            import_session: Duration::ZERO,
            transport_restart: Duration::from_secs(90),
            transport_startup: Duration::from_secs(1),
            redistribute_per_move: Duration::from_millis(200),
            output_per_mb: Duration::ZERO,
            start_sleep_divisor: 1,
        },
        servers: vec![
            server("EX01", "15.2.1748.43", 120, 4),
            ex02,
            server("EX03", "15.2.1544.39", 88, 7),
        ],
        databases: vec![
            db("DB01", ["EX01", "EX02", "EX03"]),
            db("DB02", ["EX02", "EX03", "EX01"]),
            db("DB03", ["EX03", "EX01", "EX02"]),
            db("DB04", ["EX01", "EX03", "EX02"]),
        ],
        faults: Vec::new(),
        media: vec![
            LabMedia {
                path: r"D:\Setup.exe".to_string(),
                build: "15.2.1748.10".parse().unwrap(),
                kind: LabMediaKind::Setup,
                sha256: None,
            },
            LabMedia {
                path: r"C:\Updates\Exchange2019-CU15-Feb26SU.msp".to_string(),
                build: "15.2.1748.43".parse().unwrap(),
                kind: LabMediaKind::SecurityUpdate,
                sha256: None,
            },
        ],
        certificates: Vec::new(),
    }
}
