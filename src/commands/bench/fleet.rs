//! The generated worlds `cu-roll bench` measures: D DAGs of M members
//! (the last `upgraded` of each at 2019 CU14, the others at the target), as two plan texts —
//! the lab's (with `[lab]`, served in the bench's own process) and the
//! orchestrator's (WinRM to the served ports, no `[lab]`) — and the lower
//! bound of a rollout computed from the lab's timings. Durations are real
//! estimates divided by a time scale. No measuring here.

use std::fmt::Write as _;
use std::time::Duration;

/// Real-world durations of the work a rollout waits for, before scaling.
/// No source gives them for a typical DAG member; they are UNVERIFIED
/// estimates of an Exchange 2019 CU upgrade on a mid-size member (setup
/// "can take an hour or more" is the common field report), used only to
/// weigh the per-call costs against the work.
pub struct Work {
    pub setup: Duration,
    pub reboot: Duration,
    pub security_update: Duration,
    pub drain_per_message: Duration,
    pub database_move: Duration,
    pub resync: Duration,
    /// The transport bootloader's start after `Restart-Service
    /// MSExchangeTransport` (ExchangeDsc waits up to 5 minutes for it; 30 s
    /// here, UNVERIFIED): entering maintenance waits for it before it
    /// redirects the queues. (The restart itself, `transport_restart`, is
    /// charged to the lab's clock, not to wall time: left at its default.)
    pub transport_startup: Duration,
    /// The product's default `poll_interval` (docs/plan.md).
    pub poll: Duration,
}

pub const REAL_WORK: Work = Work {
    setup: Duration::from_secs(60 * 60),
    reboot: Duration::from_secs(5 * 60),
    security_update: Duration::from_secs(15 * 60),
    drain_per_message: Duration::from_millis(100),
    database_move: Duration::from_secs(30),
    resync: Duration::from_secs(2 * 60),
    transport_startup: Duration::from_secs(30),
    poll: Duration::from_secs(5),
};

/// Messages queued on every generated server at the start.
pub const QUEUED: u32 = 8;

/// One generated world.
pub struct Fleet {
    pub dags: usize,
    pub members: usize,
    /// Members per DAG below the target (the last ones); the others are
    /// already at it and are skipped.
    pub upgraded: usize,
    /// Real-time durations divided by this.
    pub scale: u32,
    pub max_parallel_dags: usize,
    /// Per-call costs (already scaled), ms: latency, powershell, session.
    pub costs_ms: [u64; 4],
    /// The shortest poll interval (ms) whatever the scale: polls cost real
    /// CPU, which a scale does not shrink.
    pub poll_floor_ms: u64,
}

fn ms(d: Duration, scale: u32) -> u64 {
    u64::try_from(d.as_millis() / u128::from(scale.max(1))).unwrap_or(u64::MAX)
}

impl Fleet {
    pub fn servers(&self) -> Vec<(String, String)> {
        (0..self.dags)
            .flat_map(|d| {
                (0..self.members).map(move |m| (format!("EX{:02}{:02}", d + 1, m + 1), dag(d)))
            })
            .collect()
    }

    /// A scaled duration in ms, at least `floor`.
    fn scaled(&self, d: Duration, floor: u64) -> u64 {
        ms(d, self.scale).max(floor)
    }

    /// The lower bound of one member's upgrade (ms): the transport's start
    /// after its restart, drain and moves at once, then reboot, setup, the
    /// reboot setup leaves pending (the lab's setup sets
    /// `PendingFileRenameOperations`; the security update step reboots for
    /// it first), security update, reboot and resync, none of which can
    /// overlap inside a DAG. (performance.md §1 counted two reboots and no
    /// transport start: the bound was too low.)
    pub fn server_bound_ms(&self) -> u64 {
        let w = &REAL_WORK;
        let drain = u64::from(QUEUED) * self.scaled(w.drain_per_message, 1);
        self.scaled(w.transport_startup, 0)
            + drain.max(self.scaled(w.database_move, 0))
            + 3 * self.scaled(w.reboot, 0)
            + self.scaled(w.setup, 0)
            + self.scaled(w.security_update, 0)
            + self.scaled(w.resync, 0)
    }

    /// The rollout's lower bound (ms): DAGs in waves of `max_parallel_dags`,
    /// members one after another.
    pub fn bound_ms(&self) -> u64 {
        let waves = self.dags.div_ceil(self.max_parallel_dags.max(1));
        let per_dag = self.server_bound_ms() * self.upgraded.min(self.members) as u64;
        per_dag * waves as u64
    }

    /// The lab's plan: `[lab]` with every server and database.
    pub fn lab_plan(&self) -> String {
        let w = &REAL_WORK;
        let mut t = self.head(&[]);
        let [latency, powershell, session, import] = self.costs_ms;
        let _ = write!(
            t,
            "[lab]\nbase_port = 15985\nusername = \"lab\\\\admin\"\npassword = \"lab-only-password\"\n\n\
             [lab.ad]\nschema_range_upper = 17003\norg_object_version = 16763\ndomain_object_version = 13243\n\
             organization = \"Contoso\"\ndomain_dn = \"DC=contoso,DC=local\"\n\n\
             [lab.timings]\nsetup = \"{}ms\"\nreboot = \"{}ms\"\ndrain_per_message = \"{}ms\"\n\
             database_move = \"{}ms\"\nsecurity_update = \"{}ms\"\nresync = \"{}ms\"\n\
             transport_startup = \"{}ms\"\nredistribute_per_move = \"{}ms\"\nstart_sleep_divisor = {}\n\
             call_latency = \"{latency}ms\"\npowershell_start = \"{powershell}ms\"\nexchange_session = \"{session}ms\"\nimport_session = \"{import}ms\"\n\n\
             [[lab.media]]\npath = 'D:\\Setup.exe'\nbuild = \"15.2.1748.10\"\n\n\
             [[lab.media]]\npath = 'C:\\Updates\\Exchange2019-CU15-Feb26SU.msp'\nbuild = \"15.2.1748.43\"\n\n",
            self.scaled(w.setup, 1),
            self.scaled(w.reboot, 1),
            self.scaled(w.drain_per_message, 1),
            self.scaled(w.database_move, 1),
            self.scaled(w.security_update, 1),
            self.scaled(w.resync, 1),
            self.scaled(w.transport_startup, 1),
            // The redistribution's move back is a database move like the
            // move off (the lab's 200 ms default is not scaled).
            self.scaled(w.database_move, 1),
            // A script's own Start-Sleep (the redistribution task's wait)
            // shrinks like the rest: unscaled, one DAG's second froze the
            // whole lab's clock for every DAG (docs/performance.md).
            self.scale.max(1),
        );
        for (i, (name, _)) in self.servers().into_iter().enumerate() {
            // 2019 CU14 Feb26SU below the target, CU15 Feb26SU at it.
            let build = if i % self.members >= self.members - self.upgraded.min(self.members) {
                "15.2.1544.39"
            } else {
                "15.2.1748.43"
            };
            let _ = write!(
                t,
                "[[lab.server]]\nname = \"{name}\"\nfqdn = \"{}.contoso.local\"\nbuild = \"{build}\"\n\
                 dotnet_release = 533320\nos = \"Microsoft Windows Server 2022 Datacenter\"\n\
                 vcredist_2012 = 184610406\nvcredist_2013 = 201367256\nucma = true\nurl_rewrite = true\n\
                 system_drive_free_gb = 100\nqueue_messages = {QUEUED}\n\n",
                name.to_ascii_lowercase()
            );
        }
        let servers = self.servers();
        let mut n = 0;
        for d in 0..self.dags {
            let members: Vec<&str> = servers[d * self.members..(d + 1) * self.members]
                .iter()
                .map(|(s, _)| s.as_str())
                .collect();
            // One database per two members, each with up to 3 copies.
            for k in 0..self.members.div_ceil(2) {
                n += 1;
                let copies: Vec<String> = (0..members.len().min(3))
                    .map(|c| format!("\"{}\"", members[(2 * k + c) % members.len()]))
                    .collect();
                let _ = write!(
                    t,
                    "[[lab.database]]\nname = \"DB{n:03}\"\ncopies = [{}]\nactive = {}\n\n",
                    copies.join(", "),
                    copies[0]
                );
            }
        }
        t
    }

    /// The orchestrator's plan: WinRM to each server's served port.
    pub fn winrm_plan(&self, ports: &[u16]) -> String {
        self.head(ports)
    }

    /// `[rollout]`, `[connection]`, `[policy]` and the `[[server]]`s; with
    /// `ports`, each server is reached on loopback at its port.
    fn head(&self, ports: &[u16]) -> String {
        let w = &REAL_WORK;
        let poll = self.scaled(w.poll, self.poll_floor_ms);
        // Generous: a timeout only ends a broken run.
        let timeout = (self.server_bound_ms() * 10).max(60_000);
        let mut t = format!(
            "[rollout]\ntarget = \"2019-CU15\"\nsecurity_update = \"latest\"\nsetup_path = 'D:\\Setup.exe'\n\
             su_path = 'C:\\Updates\\Exchange2019-CU15-Feb26SU.msp'\ndiagnostic_data = \"off\"\n\n\
             [connection]\ntransport = \"winrm\"\nscheme = \"http\"\nauth = \"basic\"\nallow_unencrypted = true\n\
             user = \"lab\\\\admin\"\npassword_env = \"CUROLL_LAB_PASSWORD\"\n\n\
             [policy]\norder = \"passive-first\"\nmax_copy_queue = 10\nmax_replay_queue = 50\n\
             min_free_space_gb = 30\nredistribute = \"after-each\"\npause_between = false\nprepare_ad = \"block\"\n\
             poll_interval = \"{poll}ms\"\nmax_parallel_dags = {}\n\n\
             [policy.timeouts]\ndrain = \"{timeout}ms\"\nsetup = \"{timeout}ms\"\nreboot = \"{timeout}ms\"\n\
             health = \"{timeout}ms\"\nmove_databases = \"{timeout}ms\"\n\n",
            self.max_parallel_dags
        );
        for (i, (name, dag)) in self.servers().into_iter().enumerate() {
            let _ = write!(
                t,
                "[[server]]\nname = \"{name}\"\nfqdn = \"{}.contoso.local\"\ndag = \"{dag}\"\n",
                name.to_ascii_lowercase()
            );
            if let Some(port) = ports.get(i) {
                let _ = write!(t, "address = \"127.0.0.1\"\nport = {port}\n");
            }
            t.push('\n');
        }
        t
    }
}

fn dag(index: usize) -> String {
    format!("DAG{:02}", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated lab plan is one the lab accepts, with a DAG per
    /// `[[server]] dag`, and the bound adds the members' work.
    #[test]
    fn the_generated_world_is_a_valid_lab_with_one_cluster_per_dag() {
        let fleet = Fleet {
            dags: 2,
            members: 3,
            upgraded: 3,
            scale: 600,
            max_parallel_dags: 2,
            costs_ms: [0, 1, 8, 2],
            poll_floor_ms: 10,
        };
        let text = fleet.lab_plan();
        let spec = lab::parse_plan_text(&text, std::path::Path::new("bench.toml"))
            .unwrap()
            .unwrap();
        assert_eq!(spec.servers.len(), 6);
        assert_eq!(spec.dag_of(&spec.servers[4]), "DAG02");
        assert_eq!(spec.databases.len(), 4);
        // 87.5 min of work per member, + 5 min (a third reboot) + 30 s
        // (transport start) = 93 min / 600 = 9.3 s, 3 members, 1 wave.
        assert_eq!(fleet.server_bound_ms(), 9_300);
        assert_eq!(fleet.bound_ms(), 27_900);
    }
}
