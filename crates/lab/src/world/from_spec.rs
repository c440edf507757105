//! Building the starting world from the plan's `[lab]` (`World::from_spec`):
//! each lab server booted days ago on its spec's build, with its services,
//! components and queues, and each database with its copies and log
//! positions. Runs once per lab; it must not hold rules that change the
//! world over time (those are in `world` and its neighbours).

use super::{Timings, World, DEFAULT_FAULT_HOLD_MS};
use crate::components::default_components;
use crate::filestore::media_sha256;
use crate::model::*;
use crate::spec::{LabCopyStatus, LabDatabase, LabServer, LabSpec};
use crate::worldinit::{cu_revision, earlier_runs, os_version, services_for, setup_log_run};

const DAY_MS: i64 = 86_400_000;
const GIB: u64 = 1024 * 1024 * 1024;

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A lab server as the spec describes it, booted three days ago (one hour
/// apart per server) on a build installed `installed_ms`.
fn initial_server(s: &LabServer, dag: &str, i: usize, now_ms: i64, installed_ms: i64) -> Server {
    let free = s.system_drive_free_gb * GIB;
    Server {
        name: s.name.clone(),
        dag: dag.to_string(),
        fqdn: s.fqdn.clone(),
        build: s.build,
        cu_revision: cu_revision(&s.build),
        install_path: crate::worldinit::install_path(s),
        dotnet_release: s.dotnet_release,
        os_caption: s.os.clone(),
        os_version: os_version(&s.os).to_string(),
        vcredist_2012: s.vcredist_2012,
        vcredist_2013: s.vcredist_2013,
        ucma: s.ucma,
        url_rewrite: s.url_rewrite,
        pending_reboot: s.pending_reboot,
        system_drive_size_bytes: (free + 100 * GIB).max(256 * GIB),
        system_drive_free_bytes: free,
        install_drive_free_bytes: s.install_drive_free_gb.map(|gb| gb * GIB),
        ccm_client: s.ccm_client,
        last_boot_ms: now_ms - 3 * DAY_MS - (i as i64) * 3_600_000,
        installed_ms,
        services: services_for(s.build.minor),
        components: default_components(s.build.minor, installed_ms),
        cluster_node: ClusterNode {
            id: u32::try_from(i + 1).unwrap_or(u32::MAX),
            state: NodeState::Up,
            drain_status: DrainStatus::NotInitiated,
        },
        activation_policy: s.activation_policy,
        // An Edge server is in no DAG either (edge.rs).
        standalone: s.standalone || s.edge.is_some(),
        edge: s.edge.clone(),
        exchange_sessions: 0,
        move_now: false,
        queues: Vec::new(),
        drain_carry_ms: 0,
        extended_protection: Some(crate::cmdlets::ExtendedProtection::initial(
            s.build,
            s.extended_protection,
        )),
        rpc_ssl_offloading: s.rpc_ssl_offloading,
        redirect_target: None,
        transport_ready_ms: None,
        frontend_started_offline: false,
        um_calls: s.um_calls,
        um_calls_end_ms: None,
        setup_log: earlier_runs(s, installed_ms)
            + &setup_log_run(&s.build, cu_revision(&s.build), installed_ms, true),
        setup_log_written_ms: installed_ms + 2_500_000,
        app_settings: s.custom_app_settings.clone(),
        config_files: crate::edge::config_files(
            s.edge.is_some(),
            crate::configfiles::initial_files(
                r"C:\Program Files\Microsoft\Exchange Server\V15\",
                &s.custom_app_settings,
                installed_ms,
            ),
        ),
        files: Vec::new(),
        directories: crate::acl::initial_directories(s),
        folder_acls: crate::acl::initial_acls(s),
        tasks: Vec::new(),
        batch: None,
        down_until_ms: None,
        paused_at_shutdown: false,
        clussvc_due_ms: None,
        last_install_ms: installed_ms,
        partial_setup: None,
        powershell_log: Default::default(),
    }
}

/// A database with its copies in activation-preference order: the active
/// copy mounted, the others as the spec's `copy_status` says (healthy by
/// default), all caught up to the same log generation.
fn initial_database(d: &LabDatabase, i: usize, installed_ms: i64) -> Database {
    let generated = 40_000 + 1_000 * i as i64;
    let copies = d
        .copies
        .iter()
        .enumerate()
        .map(|(p, server)| {
            let status = if server.eq_ignore_ascii_case(&d.active) {
                CopyStatus::Mounted
            } else {
                d.copy_status
                    .iter()
                    .find(|(s, _)| s.eq_ignore_ascii_case(server))
                    .map_or(CopyStatus::Healthy, |(_, st)| lab_status(*st))
            };
            let lag = d
                .replay_lag
                .iter()
                .find(|(s, _)| s.eq_ignore_ascii_case(server))
                .map_or(0, |(_, l)| ms(*l));
            // A lagged copy is activation-suspended, as admins protect lag
            // copies (`Suspend-MailboxDatabaseCopy -ActivationOnly`), and
            // holds the logs of its lag un-replayed (cmdlets.md §2:
            // "Healthy with a large ReplayQueueLength").
            let suspended = lag > 0
                || matches!(
                    status,
                    CopyStatus::Suspended | CopyStatus::FailedAndSuspended
                );
            DbCopy {
                server: server.clone(),
                preference: u32::try_from(p + 1).unwrap_or(u32::MAX),
                status,
                activation_suspended: suspended,
                suspend_comment: None,
                last_log_copied: generated,
                last_log_inspected: generated,
                last_log_replayed: generated - crate::quorum::lagged_logs(lag),
                last_status_transition_ms: installed_ms,
                resync_due_ms: None,
                failed_until_ms: None,
                held_status: None,
                replay_lag_ms: lag,
            }
        })
        .collect();
    Database {
        name: d.name.clone(),
        copies,
        last_log_generated: generated,
    }
}

impl World {
    /// Builds the starting world from the plan's `[lab]`; a server whose
    /// spec names no DAG is in `dag`. `now_ms` is the wall clock at creation.
    pub fn from_spec(spec: &LabSpec, dag: &str, now_ms: i64) -> World {
        let installed_ms = now_ms - 20 * DAY_MS;
        let servers = spec
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| initial_server(s, spec.dag_of(s), i, now_ms, installed_ms))
            .collect::<crate::servers::Servers>();
        let databases = spec
            .databases
            .iter()
            .enumerate()
            .map(|(i, d)| initial_database(d, i, installed_ms))
            .collect();
        let mut world = World {
            dag: dag.to_string(),
            now_ms,
            ad: spec.ad.clone(),
            timings: Timings {
                setup_ms: ms(spec.timings.setup),
                reboot_ms: ms(spec.timings.reboot),
                drain_per_message_ms: ms(spec.timings.drain_per_message).max(1),
                database_move_ms: ms(spec.timings.database_move),
                security_update_ms: ms(spec.timings.security_update),
                resync_ms: ms(spec.timings.resync),
                call_latency_ms: ms(spec.timings.call_latency),
                powershell_start_ms: ms(spec.timings.powershell_start),
                exchange_session_ms: ms(spec.timings.exchange_session),
                import_session_ms: ms(spec.timings.import_session),
                transport_restart_ms: ms(spec.timings.transport_restart),
                transport_startup_ms: ms(spec.timings.transport_startup),
                redistribute_per_move_ms: ms(spec.timings.redistribute_per_move),
                output_per_mb_ms: ms(spec.timings.output_per_mb),
                start_sleep_divisor: i64::from(spec.timings.start_sleep_divisor),
            },
            servers,
            databases,
            faults: spec
                .faults
                .iter()
                .map(|f| Fault {
                    server: f.server.clone(),
                    kind: f.kind.clone(),
                    remaining: f.times,
                    database: f.database.clone(),
                    during: f.during.clone(),
                    hold_ms: f.hold.map_or(DEFAULT_FAULT_HOLD_MS, ms),
                    active_until_ms: None,
                })
                .collect(),
            pending: Vec::new(),
            availability: Vec::new(),
            media: spec
                .media
                .iter()
                .map(|m| Media {
                    path: m.path.clone(),
                    build: m.build,
                    kind: m.kind,
                    sha256: m
                        .sha256
                        .clone()
                        .unwrap_or_else(|| media_sha256(&m.path, &m.build)),
                })
                .collect(),
            next_pid: 5000,
            account: Some((spec.username.clone(), spec.password.clone())),
            account_org_management: spec.org_management,
            cluster_group_owners: Default::default(),
            witness_reachable: spec.witness_reachable,
            load_balancer: spec.load_balancer.clone(),
            certificates: spec.certificates.clone(),
            directory: crate::directory::Directory::default(),
        };
        let counts: Vec<u32> = spec.servers.iter().map(|s| s.queue_messages).collect();
        for (i, count) in counts.into_iter().enumerate() {
            world.servers[i].queues = world.initial_queues(i, count);
        }
        world
    }

    /// Submission, one SmtpDeliveryToMailbox queue per database, the
    /// SmtpRelayToDag queue and a shadow queue per peer; the server's
    /// `queue_messages` are spread over the delivery queues.
    fn initial_queues(&self, index: usize, messages: u32) -> Vec<Queue> {
        let mut queues = vec![Queue {
            row_id: 1,
            kind: QueueKind::Submission,
            delivery_type: DeliveryType::Undefined,
            next_hop_domain: "Submission".to_string(),
            message_count: 0,
            suspended: false,
        }];
        let mut row = 10;
        let mut delivery = |kind, delivery_type, hop: String, queues: &mut Vec<Queue>| {
            row += 1;
            queues.push(Queue {
                row_id: row,
                kind,
                delivery_type,
                next_hop_domain: hop,
                message_count: 0,
                suspended: false,
            });
        };
        for db in &self.databases {
            delivery(
                QueueKind::Delivery,
                DeliveryType::SmtpDeliveryToMailbox,
                db.name.to_ascii_lowercase(),
                &mut queues,
            );
        }
        delivery(
            QueueKind::Delivery,
            DeliveryType::SmtpRelayToDag,
            self.dag_of(index).to_ascii_lowercase(),
            &mut queues,
        );
        let deliveries = queues.len() - 1;
        for m in 0..messages as usize {
            queues[1 + m % deliveries].message_count += 1;
        }
        for (j, peer) in self.servers.iter().enumerate() {
            if j != index && self.same_dag(j, index) {
                // Shadow copies of this server's outstanding mail held for the
                // peer; they only go when the peer acknowledges delivery, so
                // callers must ignore them when judging a drain (runbook §2.8).
                let held = u32::from(messages > 0);
                delivery(
                    QueueKind::Shadow,
                    DeliveryType::ShadowRedundancy,
                    peer.fqdn.clone(),
                    &mut queues,
                );
                if let Some(q) = queues.last_mut() {
                    q.message_count = held;
                }
            }
        }
        queues
    }
}

fn lab_status(s: LabCopyStatus) -> CopyStatus {
    match s {
        LabCopyStatus::Healthy => CopyStatus::Healthy,
        LabCopyStatus::Failed => CopyStatus::Failed,
        LabCopyStatus::Suspended => CopyStatus::Suspended,
        LabCopyStatus::FailedAndSuspended => CopyStatus::FailedAndSuspended,
        LabCopyStatus::Initializing => CopyStatus::Initializing,
        LabCopyStatus::Resynchronizing => CopyStatus::Resynchronizing,
        LabCopyStatus::Seeding => CopyStatus::Seeding,
        LabCopyStatus::ServiceDown => CopyStatus::ServiceDown,
    }
}
