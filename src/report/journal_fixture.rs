//! A journal for the run-report and `status` tests, built one record at a
//! time (a few seconds apart, from 2026-11-27T10:00:00Z), and the plan's
//! three lab servers it talks about.
//!
//! Test data only: it writes no file and decides nothing; the tests that
//! use it say what they expect.

use crate::journal::{Change, Entry, PlanFingerprint, Record};
use crate::plan::Server;

fn server(name: &str) -> Server {
    Server {
        name: name.to_string(),
        fqdn: format!("{}.contoso.local", name.to_ascii_lowercase()),
        dag: Some("DAG01".to_string()),
        redirect_to: None,
        address: None,
        port: None,
        edge: None,
    }
}

pub fn lab_servers() -> Vec<Server> {
    ["EX01", "EX02", "EX03"].into_iter().map(server).collect()
}

/// Builds a journal one record at a time, a few seconds apart.
pub struct Builder {
    pub entries: Vec<Entry>,
    /// Seconds after 10:00:00.
    pub clock: u64,
}

impl Builder {
    pub fn new() -> Self {
        Builder {
            entries: Vec::new(),
            clock: 0,
        }
    }

    pub fn at(&mut self, secs: u64) -> &mut Self {
        self.clock = secs;
        self
    }

    pub fn push(&mut self, record: Record) -> &mut Self {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_773_600 + self.clock);
        self.entries.push(Entry {
            seq: self.entries.len() as u64 + 1,
            at: humantime::format_rfc3339_millis(t).to_string(),
            record,
        });
        self.clock += 1;
        self
    }

    pub fn run_started(&mut self, run_id: &str) -> &mut Self {
        self.push(Record::RunStarted {
            run_id: run_id.to_string(),
            tool_version: "0.1.0".to_string(),
            plan: PlanFingerprint {
                servers: vec!["EX01".into(), "EX02".into(), "EX03".into()],
                target_build: "15.2.1748.43".to_string(),
                target_name: "Exchange Server 2019 CU15 Feb26SU".to_string(),
            },
            host: "ADMIN01".to_string(),
            pid: 4242,
            order: vec!["EX01".into(), "EX02".into(), "EX03".into()],
            only: Vec::new(),
            exclude: Vec::new(),
        })
    }

    pub fn run_finished(&mut self, outcome: &str) -> &mut Self {
        self.push(Record::RunFinished {
            outcome: outcome.to_string(),
        })
    }

    pub fn started(&mut self, server: &str, step: &str) -> &mut Self {
        self.push(Record::StepStarted {
            server: server.into(),
            step: step.into(),
        })
    }

    pub fn done(&mut self, server: &str, step: &str, already: bool, detail: &str) -> &mut Self {
        self.push(Record::StepDone {
            server: server.into(),
            step: step.into(),
            already_done: already,
            detail: detail.into(),
        })
    }

    pub fn failed(&mut self, server: &str, step: &str, error: &str) -> &mut Self {
        self.push(Record::StepFailed {
            server: server.into(),
            step: step.into(),
            error: error.into(),
        })
    }

    pub fn changed(&mut self, server: &str, step: &str, change: Change) -> &mut Self {
        self.push(Record::Changed {
            server: server.into(),
            step: step.into(),
            change,
        })
    }

    pub fn observed(&mut self, server: &str, step: &str, what: &str) -> &mut Self {
        self.push(Record::Observed {
            server: server.into(),
            step: step.into(),
            what: what.into(),
        })
    }

    pub fn server_done(&mut self, server: &str) -> &mut Self {
        self.push(Record::ServerDone {
            server: server.into(),
        })
    }

    /// Every step of one server, each taking `secs`.
    pub fn whole_server(&mut self, server: &str, secs: u64) -> &mut Self {
        for step in crate::runbook::StepId::ALL {
            if step == crate::runbook::StepId::SecurityUpdate {
                continue;
            }
            self.started(server, step.id());
            self.clock += secs;
            self.done(server, step.id(), false, &format!("{step} ok"));
        }
        self.server_done(server)
    }
}

pub const SETUP_ERROR: &str = "Setup.exe exited with code 1603; ExchangeSetup.log: [ERROR] The following error was generated when \"$error.Clear();\" was run";

/// EX01 rolled; EX02's setup failed and the run stopped there (EX03 pending).
pub fn failed_at_ex02_setup() -> Builder {
    let mut j = Builder::new();
    j.run_started("r1").whole_server("EX01", 5);
    for step in ["backup-config", "enter-maintenance", "reboot-before-setup"] {
        j.started("EX02", step).done("EX02", step, false, "ok");
    }
    j.started("EX02", "setup");
    j.clock += 40;
    j.failed("EX02", "setup", SETUP_ERROR)
        .run_finished("failed");
    j
}
