//! Test doubles for the steps: `FakeExec` answers scripts by matching their
//! text against rules (newest rule first) and records everything sent;
//! `FakeWorld` keeps per-server `exchange_state`/`server_facts` JSON that
//! the standard action rules change the way Exchange would; `FakeClock`
//! advances only when a wait sleeps; `Recorder` keeps what a step reports;
//! `Bench` runs one step for EX02 of the lab plan with all of these.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::{json, Value};

use crate::exec::{ExecError, ExecOutput, Executor};
use crate::journal::{Baseline, Change};
use crate::plan::ResolvedTarget;
use crate::plan::{Plan, Server};
use crate::runbook::{Clock, Step, StepContext, StepError, StepEvents, StepOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ps,
    Cmd,
}

#[derive(Debug, Clone)]
pub struct Sent {
    /// The server the script addresses (for an Exchange session script,
    /// the one its cmdlets name, not the peer it ran on).
    pub server: String,
    pub kind: Kind,
    pub text: String,
    /// For an Exchange session script: the peer it was sent to, and the
    /// secret that arrived on its stdin.
    pub via: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub enum Reply {
    Out {
        stdout: String,
        stderr: String,
        code: i32,
    },
    Unreachable,
}

impl Reply {
    pub fn ok(stdout: impl Into<String>) -> Reply {
        Reply::Out {
            stdout: stdout.into(),
            stderr: String::new(),
            code: 0,
        }
    }
    pub fn fail(code: i32, stderr: impl Into<String>) -> Reply {
        Reply::Out {
            stdout: String::new(),
            stderr: stderr.into(),
            code,
        }
    }
}

/// What the fake servers look like, as the observation scripts print it.
#[derive(Default)]
pub struct FakeWorld {
    pub state: HashMap<String, Value>,
    pub facts: HashMap<String, Value>,
    /// Monotonic counter for requester timestamps.
    pub tick: u64,
    /// Free-form marks rules set and read (e.g. "the task was started").
    pub marks: std::collections::HashSet<String>,
    /// What `SERVICE_SET` prints per server; absent: every service of the
    /// set Automatic and running, no leftover files.
    pub services: HashMap<String, Value>,
}

/// `SERVICE_SET`'s answer for a healthy server.
pub fn services_ok() -> Value {
    let services: Vec<Value> = crate::exchange::observe::INSTALLER_SERVICES
        .iter()
        .map(|n| json!({"Name": n, "Status": "Running", "StartType": "Automatic"}))
        .collect();
    json!({"Services": services, "LeftoverFiles": []})
}

type Handler = Box<dyn FnMut(&mut FakeWorld, &str, &str) -> Reply + Send>;

struct Rule {
    server: Option<String>,
    kind: Kind,
    needle: String,
    handler: Handler,
}

pub struct FakeExec {
    world: Mutex<FakeWorld>,
    rules: Mutex<Vec<Rule>>,
    sent: Mutex<Vec<Sent>>,
}

impl FakeExec {
    /// A fake with the observation rules (`exchange_state`, `server_facts`)
    /// answering from the world, and no action rules.
    pub fn new() -> FakeExec {
        let f = FakeExec {
            world: Mutex::new(FakeWorld::default()),
            rules: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
        };
        f.on_ps(None, "Get-ServerComponentState", |w, server, _| {
            match w.state.get(server) {
                Some(v) => Reply::ok(v.to_string()),
                None => Reply::Unreachable,
            }
        });
        // The DAG-wide read (observe::dag_state): every listed member from
        // the world, the cluster nodes of every member the world knows.
        f.on_ps(None, "$quorumOf", |w, _, text| {
            let line = text
                .lines()
                .find(|l| l.starts_with("$servers = @("))
                .unwrap_or_default();
            let members: Vec<serde_json::Value> = line
                .split('\'')
                .skip(1)
                .step_by(2)
                .map(|name| match w.state.get(name) {
                    Some(v) => json!({ "Server": name, "State": v, "NodeState": v["ClusterNodeState"] }),
                    None => json!({ "Server": name, "State": null, "Error": format!("{name} does not answer") }),
                })
                .collect();
            let nodes: Vec<String> = w.state.keys().map(|k| k.to_ascii_lowercase()).collect();
            Reply::ok(json!({ "Members": members, "ClusterNodes": nodes }).to_string())
        });
        f.on_ps(None, "Service*.xml", |w, server, _| {
            Reply::ok(
                w.services
                    .get(server)
                    .cloned()
                    .unwrap_or_else(services_ok)
                    .to_string(),
            )
        });
        // The cluster node's state, read on the server itself apart from
        // the Exchange session (observe::exchange_state).
        f.on_ps(None, "Get-ClusterNode -Name", |w, server, _| {
            match w.state.get(server) {
                Some(v) => Reply::ok(
                    json!({ "State": v["ClusterNodeState"], "Error": v["ClusterNodeError"] })
                        .to_string(),
                ),
                None => Reply::Unreachable,
            }
        });
        // Client-access health pages (observe::client_access): all 200.
        f.on_ps(None, "/healthcheck.htm", |_, _, _| {
            let pages: Vec<Value> = crate::exchange::observe::HEALTH_PAGE_VDIRS
                .iter()
                .map(|v| json!({"Vdir": v, "Url": format!("https://fqdn/{v}/healthcheck.htm"), "StatusCode": 200, "Error": null}))
                .collect();
            Reply::ok(json!({ "Pages": pages }).to_string())
        });
        // Test-MAPIConnectivity of the active copies (observe::hosted):
        // every copy the world shows Mounted on the server passes.
        f.on_ps(
            None,
            "Test-MAPIConnectivity -Server $server |",
            |w, server, _| {
                let mapi: Vec<Value> = w
                .state
                .get(server)
                .and_then(|v| v["Copies"].as_array().cloned())
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c["Status"] == "Mounted")
                .map(|c| json!({"Database": c["DatabaseName"], "Result": "Success", "Error": ""}))
                .collect();
                Reply::ok(json!({ "MapiConnectivity": mapi }).to_string())
            },
        );
        f.on_ps(None, "MsiInstallPath", |w, server, _| {
            match w.facts.get(server) {
                Some(v) => Reply::ok(v.to_string()),
                None => Reply::Unreachable,
            }
        });
        f
    }

    pub fn on_ps(
        &self,
        server: Option<&str>,
        needle: &str,
        h: impl FnMut(&mut FakeWorld, &str, &str) -> Reply + Send + 'static,
    ) {
        self.rule(server, Kind::Ps, needle, h);
    }

    pub fn on_cmd(
        &self,
        server: Option<&str>,
        needle: &str,
        h: impl FnMut(&mut FakeWorld, &str, &str) -> Reply + Send + 'static,
    ) {
        self.rule(server, Kind::Cmd, needle, h);
    }

    fn rule(
        &self,
        server: Option<&str>,
        kind: Kind,
        needle: &str,
        h: impl FnMut(&mut FakeWorld, &str, &str) -> Reply + Send + 'static,
    ) {
        self.rules.lock().unwrap().push(Rule {
            server: server.map(str::to_string),
            kind,
            needle: needle.to_string(),
            handler: Box::new(h),
        });
    }

    /// Answers `needle` with `replies` in turn, repeating the last.
    pub fn replies(&self, kind: Kind, needle: &str, replies: Vec<Reply>) {
        let mut q: VecDeque<Reply> = replies.into();
        self.rule(None, kind, needle, move |_, _, _| {
            if q.len() > 1 {
                q.pop_front().unwrap()
            } else {
                q.front().cloned().unwrap_or_else(|| Reply::ok(""))
            }
        });
    }

    /// Answers the reads of ExchangeSetup.log from `log`: the stage's
    /// `findstr`, the run starts (`findstr /N`), the line count (`find
    /// /C`) and the pieces (`Get-Content -Tail N | Select-Object -First M`).
    pub fn setup_log(&self, log: &str) {
        let lines: Vec<String> = log
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        let starts: String = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains("Starting Microsoft Exchange Server"))
            .map(|(i, l)| format!("{}:{l}\r\n", i + 1))
            .collect();
        self.replies(Kind::Cmd, "ExchangeSetup.log", vec![Reply::ok(log)]);
        self.replies(
            Kind::Cmd,
            "findstr /N",
            vec![if starts.is_empty() {
                Reply::fail(1, "")
            } else {
                Reply::ok(starts)
            }],
        );
        self.replies(
            Kind::Cmd,
            "find /C",
            vec![Reply::ok(format!(
                "\r\n---------- C:\\EXCHANGESETUPLOGS\\EXCHANGESETUP.LOG: {}\r\n",
                lines.len()
            ))],
        );
        self.on_ps(
            None,
            "Get-Content -LiteralPath $log -Tail",
            move |_, _, text| {
                let number_after = |key: &str| -> usize {
                    let at = text.find(key).expect("piece script") + key.len();
                    text[at..]
                        .trim_start()
                        .trim_start_matches('\'')
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                        .and_then(|n| n.parse().ok())
                        .expect("a number")
                };
                let (tail, first) = (number_after("-Tail"), number_after("-First"));
                let from = lines.len().saturating_sub(tail);
                let piece: String = lines[from..]
                    .iter()
                    .take(first)
                    .map(|l| format!("{l}\r\n"))
                    .collect();
                Reply::ok(piece)
            },
        );
    }

    pub fn world(&self) -> MutexGuard<'_, FakeWorld> {
        self.world.lock().unwrap()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    /// How many scripts/commands containing `needle` were sent.
    pub fn count(&self, needle: &str) -> usize {
        self.sent()
            .iter()
            .filter(|s| s.text.contains(needle))
            .count()
    }

    /// Sent texts that change something (not the observation scripts).
    pub fn actions(&self) -> Vec<String> {
        let observe = [
            "Get-ServerComponentState",
            "$quorumOf",
            "Get-ClusterNode -Name",
            "MsiInstallPath",
            "Win32_OperatingSystem",
            "Test-ServiceHealth",
            "Service*.xml",
            "/healthcheck.htm",
            "Test-MAPIConnectivity -Server $server |",
            // Observes the PAM; moves it only when the server owns it (the
            // tests judge that move by the journaled change).
            "Get-ClusterGroup",
            // The shadow-redundancy heartbeat and its count change nothing
            // cu-roll undoes.
            "Retry-Queue",
            "$count = 0",
            // The Submission queue check resumes only a Suspended queue.
            "Get-UMActiveCalls",
            "Resume-Queue -Identity $id",
        ];
        self.sent()
            .into_iter()
            .filter(|s| s.kind == Kind::Ps && !observe.iter().any(|o| s.text.contains(o)))
            .map(|s| s.text)
            .collect()
    }

    fn answer(&self, server: &Server, kind: Kind, text: &str) -> Result<ExecOutput, ExecError> {
        self.answer_via(server, kind, text, None)
    }

    fn answer_via(
        &self,
        server: &Server,
        kind: Kind,
        text: &str,
        via: Option<(String, String)>,
    ) -> Result<ExecOutput, ExecError> {
        self.sent.lock().unwrap().push(Sent {
            server: server.name.clone(),
            kind,
            text: text.to_string(),
            via,
        });
        let mut rules = self.rules.lock().unwrap();
        let rule = rules.iter_mut().rev().find(|r| {
            r.kind == kind
                && text.contains(&r.needle)
                && r.server.as_deref().is_none_or(|s| s == server.name)
        });
        let reply = match rule {
            Some(r) => (r.handler)(&mut self.world.lock().unwrap(), &server.name, text),
            None => Reply::fail(1, format!("FakeExec: no rule for {kind:?} {text:?}")),
        };
        match reply {
            Reply::Out {
                stdout,
                stderr,
                code,
            } => Ok(ExecOutput {
                stdout,
                stderr,
                exit_code: code,
            }),
            Reply::Unreachable => Err(ExecError::Unreachable {
                server: server.name.clone(),
                detail: "connection refused".into(),
            }),
        }
    }

    /// The action rules of runbook §2/§4, changing the world's JSON the way
    /// Exchange would (component requesters, policy, MoveNow moving active
    /// copies away, node pause, copy resume, redirect emptying queues).
    pub fn with_exchange_actions(self) -> FakeExec {
        // Older rules answer last: the drain/active templates also restart
        // transport, and must reach the component rule below.
        self.on_ps(None, "Restart-Service", |_, _, _| Reply::ok(""));
        let comp = Regex::new(r"-Component '(\w+)' -State '(\w+)' -Requester '(\w+)'").unwrap();
        self.on_ps(None, "Set-ServerComponentState", move |w, server, text| {
            let c = comp.captures(text).expect("component arguments");
            w.tick += 1;
            let tick = w.tick;
            let st = w.state.get_mut(server).expect("server state");
            set_requester(st, &c[1], &c[3], &c[2], tick);
            Reply::ok("")
        });
        self.on_ps(None, "Redirect-Message", |w, server, _| {
            let st = w.state.get_mut(server).unwrap();
            st["Queues"] = json!([]);
            Reply::ok("")
        });
        // Members hold no shadow copies once asked for a heartbeat.
        self.on_ps(None, "Retry-Queue", |_, _, _| Reply::ok(""));
        // Exchange 2016: no UM call in progress.
        self.on_ps(None, "Get-UMActiveCalls", |_, _, _| Reply::ok("0"));
        // The Submission queue after the transport restart: not Suspended.
        self.on_ps(None, "Resume-Queue", |_, _, _| {
            Reply::ok(r#"{"Status":"Ready","Resumed":false}"#)
        });
        self.on_ps(None, "$count = 0", |_, _, _| {
            Reply::ok(r#"[{"Server":"EX01","Messages":0},{"Server":"EX03","Messages":0}]"#)
        });
        self.on_ps(None, "Suspend-ClusterNode", |w, server, _| {
            w.state.get_mut(server).unwrap()["ClusterNodeState"] = json!("Paused");
            Reply::ok("")
        });
        // Cluster Group (the PAM): owned by EX01 unless a mark
        // `pam:<node>` says otherwise; names lower-case as the cluster
        // reports them. The move picks the first other Up node.
        self.on_ps(None, "Get-ClusterGroup", |w, server, text| {
            let owner = pam_owner(w);
            if !text.contains("Move-ClusterGroup") {
                return Reply::ok(json!({ "Owner": owner }).to_string());
            }
            let mut to = owner.clone();
            if owner.eq_ignore_ascii_case(server) {
                let mut names: Vec<&String> = w.state.keys().collect();
                names.sort();
                match names.into_iter().find(|n| {
                    !n.eq_ignore_ascii_case(server) && w.state[*n]["ClusterNodeState"] == "Up"
                }) {
                    Some(n) => to = n.to_ascii_lowercase(),
                    None => return Reply::fail(
                        1,
                        "Move-ClusterGroup : A cluster node is not available for this operation.",
                    ),
                }
                w.marks.retain(|m| !m.starts_with("pam:"));
                w.marks.insert(format!("pam:{to}"));
            }
            Reply::ok(json!({ "From": owner, "To": to }).to_string())
        });
        self.on_ps(None, "Resume-ClusterNode", |w, server, _| {
            w.state.get_mut(server).unwrap()["ClusterNodeState"] = json!("Up");
            Reply::ok("")
        });
        self.on_ps(
            None,
            "-DatabaseCopyActivationDisabledAndMoveNow $true",
            |w, server, _| {
                let st = w.state.get_mut(server).unwrap();
                st["ActivationDisabledAndMoveNow"] = json!(true);
                for c in st["Copies"].as_array_mut().unwrap() {
                    if c["Status"] == "Mounted" {
                        c["Status"] = json!("Healthy");
                        c["ActiveCopy"] = json!(false);
                    }
                }
                Reply::ok("")
            },
        );
        self.on_ps(
            None,
            "-DatabaseCopyActivationDisabledAndMoveNow $false",
            |w, server, _| {
                w.state.get_mut(server).unwrap()["ActivationDisabledAndMoveNow"] = json!(false);
                Reply::ok("")
            },
        );
        let policy = Regex::new(r"-DatabaseCopyAutoActivationPolicy '(\w+)'").unwrap();
        self.on_ps(
            None,
            "-DatabaseCopyAutoActivationPolicy",
            move |w, server, text| {
                let p = policy.captures(text).unwrap()[1].to_string();
                w.state.get_mut(server).unwrap()["ActivationPolicy"] = json!(p);
                Reply::ok("")
            },
        );
        let copy = Regex::new(r"Resume-MailboxDatabaseCopy -Identity '([^']+)'").unwrap();
        self.on_ps(
            None,
            "Resume-MailboxDatabaseCopy",
            move |w, server, text| {
                let name = copy.captures(text).unwrap()[1].to_string();
                for c in w.state.get_mut(server).unwrap()["Copies"]
                    .as_array_mut()
                    .unwrap()
                {
                    if c["Name"] == name.as_str() {
                        c["Status"] = json!("Healthy");
                    }
                }
                Reply::ok("")
            },
        );
        self
    }
}

/// The fake cluster's `Cluster Group` owner (see `with_exchange_actions`).
pub fn pam_owner(w: &FakeWorld) -> String {
    w.marks
        .iter()
        .find_map(|m| m.strip_prefix("pam:"))
        .unwrap_or("ex01")
        .to_string()
}

impl Executor for FakeExec {
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        self.answer(server, Kind::Ps, script)
    }
    /// An Exchange session script sent to peer `server`: answered as the
    /// server its cmdlets name (`$server = '…'`, `-Identity '…'`,
    /// `-Server '…'`), since the session acts on that server's objects.
    fn run_ps_with_secret(
        &self,
        server: &Server,
        script: &str,
        secret: &crate::plan::Secret,
    ) -> Result<ExecOutput, ExecError> {
        let addressed = Regex::new(r"(?:\$server = |-Identity |-Server )'(?:[^'\\]*\\)?([^'\\]+)'")
            .unwrap()
            .captures(script)
            .map(|c| c[1].to_string())
            .unwrap_or_else(|| server.name.clone());
        let mut target = server.clone();
        target.name = addressed;
        let via = Some((server.name.clone(), secret.expose().to_string()));
        self.answer_via(&target, Kind::Ps, script, via)
    }
    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        self.answer(server, Kind::Cmd, command)
    }
    /// It plays the lab transport of plans/lab.toml: `[lab] username`.
    fn installer_account(&self) -> Option<(String, crate::plan::Secret)> {
        Some((
            "lab\\admin".to_string(),
            crate::plan::Secret::new("lab-only-password".to_string()),
        ))
    }
}

const COMPONENTS: [&str; 8] = [
    "ServerWideOffline",
    "HubTransport",
    "FrontendTransport",
    "Monitoring",
    "RecoveryActionsEnabled",
    "ForwardSyncDaemon",
    "ProvisioningRps",
    "HighAvailability",
];

/// Effective states as Exchange computes them (cmdlets.md §5).
fn recompute(state: &mut Value) {
    let comps = state["Components"].as_array_mut().unwrap();
    let effective = |c: &Value| -> String {
        let mut newest: HashMap<String, (String, String)> = HashMap::new();
        for r in c["LocalStates"].as_array().unwrap() {
            let key = r["Requester"].as_str().unwrap().to_ascii_lowercase();
            let ts = r["Timestamp"].as_str().unwrap().to_string();
            let st = r["State"].as_str().unwrap().to_string();
            if newest.get(&key).is_none_or(|(t, _)| ts > *t) {
                newest.insert(key, (ts, st));
            }
        }
        let name = c["Component"].as_str().unwrap();
        if newest.is_empty() {
            return if name == "ForwardSyncDaemon" || name == "ProvisioningRps" {
                "Inactive".into()
            } else {
                "Active".into()
            };
        }
        if newest.values().any(|(_, s)| s == "Inactive") {
            "Inactive".into()
        } else if newest.values().any(|(_, s)| s == "Draining") {
            "Draining".into()
        } else {
            "Active".into()
        }
    };
    let own: Vec<String> = comps.iter().map(effective).collect();
    let swo_off = comps
        .iter()
        .zip(&own)
        .any(|(c, s)| c["Component"] == "ServerWideOffline" && s != "Active");
    for (c, s) in comps.iter_mut().zip(own) {
        let name = c["Component"].as_str().unwrap().to_string();
        let forced = swo_off
            && !["ServerWideOffline", "Monitoring", "RecoveryActionsEnabled"]
                .contains(&name.as_str());
        c["State"] = json!(if forced { "Inactive".to_string() } else { s });
    }
}

/// Sets `requester`'s entry on `component` (newest wins) and recomputes.
pub fn set_requester(state: &mut Value, component: &str, requester: &str, st: &str, tick: u64) {
    let comps = state["Components"].as_array_mut().unwrap();
    let c = comps
        .iter_mut()
        .find(|c| c["Component"] == component)
        .unwrap_or_else(|| panic!("no component {component}"));
    let local = c["LocalStates"].as_array_mut().unwrap();
    local.retain(|r| r["Requester"] != requester);
    local.push(json!({
        "Requester": requester,
        "State": st,
        "Timestamp": format!("2026-03-01T10:{:02}:{:02}.0000000Z", tick / 60, tick % 60),
    }));
    recompute(state);
}

/// A healthy member: every component Active (Functional entries as a real
/// server has them), Unrestricted, node Up, `copies` as (db, preference,
/// mounted here), `queued` messages in one delivery queue.
pub fn healthy_state(server: &str, copies: &[(&str, u32, bool)], queued: u64) -> Value {
    let components: Vec<Value> = COMPONENTS
        .iter()
        .map(|c| json!({"Component": c, "State": "Active", "LocalStates": [], "RemoteStates": []}))
        .collect();
    let copies: Vec<Value> = copies
        .iter()
        .map(|(db, pref, mounted)| {
            json!({
                "Name": format!("{db}\\{server}"), "DatabaseName": db, "MailboxServer": server,
                "Status": if *mounted { "Mounted" } else { "Healthy" }, "ActiveCopy": mounted,
                "ActivationSuspended": false, "ActivationPreference": pref,
                "CopyQueueLength": 0, "ReplayQueueLength": 0,
                "ContentIndexState": "NotApplicable", "ReplayLagEnabled": false
            })
        })
        .collect();
    let mut v = json!({
        "Components": components,
        "ActivationPolicy": "Unrestricted",
        "ActivationDisabledAndMoveNow": false,
        "DatabaseAvailabilityGroup": "DAG01",
        "ClusterNodeState": "Up",
        "Copies": copies,
        "Queues": [
            {"Identity": format!("{server}\\Submission"), "DeliveryType": "Undefined", "NextHopDomain": "Submission", "MessageCount": 0},
            {"Identity": format!("{server}\\Shadow\\3"), "DeliveryType": "ShadowRedundancy", "NextHopDomain": "ex01.contoso.local", "MessageCount": 4},
            {"Identity": format!("{server}\\7"), "DeliveryType": "SmtpRelayToDag", "NextHopDomain": "DAG01", "MessageCount": queued}
        ],
    });
    recompute(&mut v);
    v
}

pub fn facts(build: &str) -> Value {
    json!({
        "ComputerName": "EX", "ExSetupVersion": build, "DotNetRelease": 533320,
        "OsCaption": "Microsoft Windows Server 2022 Datacenter", "OsVersion": "10.0.20348",
        "LastBootUpTime": "2026-03-01T08:00:00.0000000Z", "SystemDriveFreeBytes": 100_000_000_000u64,
        "Products": [], "PendingReboot": []
    })
}

/// A clock that moves only when a wait sleeps.
pub struct FakeClock {
    base: Instant,
    offset: Mutex<Duration>,
}

impl FakeClock {
    pub fn new() -> FakeClock {
        FakeClock {
            base: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }
    pub fn elapsed(&self) -> Duration {
        *self.offset.lock().unwrap()
    }
}

impl Clock for FakeClock {
    fn sleep(&self, d: Duration) {
        *self.offset.lock().unwrap() += d;
    }
    fn now(&self) -> Instant {
        self.base + *self.offset.lock().unwrap()
    }
}

#[derive(Default)]
pub struct Recorder {
    pub changes: Vec<Change>,
    /// Write-ahead intents, with the baseline each carried.
    pub intents: Vec<(Vec<Change>, Option<Baseline>)>,
    pub observed: Vec<String>,
    pub progress: Vec<String>,
}

impl StepEvents for Recorder {
    fn intent(&mut self, changes: &[Change], before: Option<&Baseline>) -> Result<(), StepError> {
        self.intents.push((changes.to_vec(), before.cloned()));
        Ok(())
    }
    fn changed(&mut self, change: Change) -> Result<(), StepError> {
        self.changes.push(change);
        Ok(())
    }
    fn observed(&mut self, what: String) -> Result<(), StepError> {
        self.observed.push(what);
        Ok(())
    }
    fn progress(&mut self, message: &str) {
        self.progress.push(message.to_string());
    }
}

/// The lab plan (`plans/lab.toml`): three members of DAG01.
pub fn lab_plan() -> Plan {
    crate::plan::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/lab.toml"))
        .expect("plans/lab.toml loads")
}

pub fn target(plan: &Plan) -> ResolvedTarget {
    crate::plan::resolve_target(plan, crate::catalog::Catalog::embedded()).expect("target resolves")
}

/// A context for `server` of `plan`, its peers the other DAG members.
pub fn context<'a>(
    plan: &'a Plan,
    target: &'a ResolvedTarget,
    server: &str,
    exec: &'a dyn Executor,
    clock: &'a dyn Clock,
    events: &'a mut Recorder,
    prior: Vec<Change>,
) -> StepContext<'a> {
    let server = plan.server(server).expect("server in plan");
    StepContext {
        plan,
        target,
        server,
        peers: plan
            .servers
            .iter()
            .filter(|s| s.name != server.name && s.dag == server.dag)
            .collect(),
        exec,
        // As the scheduler sees it: the server being rolled serves no
        // other's Exchange cmdlets.
        exchange: reach(exec, plan).without(&[server.name.as_str()]),
        clock,
        events,
        prior_changes: prior,
        observed_before: None,
    }
}

/// How tests reach Exchange: every plan server a candidate peer, with the
/// transport's own account (the lab's, or `FakeExec`'s) as the session
/// credential (leaked: a test lives as long as the process).
pub fn reach<'a>(exec: &'a dyn Executor, plan: &'a Plan) -> crate::exchange::Reach<'a> {
    let (user, secret) = exec
        .installer_account()
        .expect("the test transport has an account");
    let credential: &'static crate::exchange::Credential =
        Box::leak(Box::new(crate::exchange::Credential { user, secret }));
    crate::exchange::Reach::new(exec, credential, &plan.servers)
}

/// A step run for EX02 of the lab plan on a `FakeClock`: the plan, target,
/// clock and context every step test needs, built once.
pub struct Bench {
    pub plan: Plan,
    pub target: ResolvedTarget,
    pub clock: FakeClock,
    /// The server's journaled baseline, as the scheduler hands it over.
    pub before: Option<Baseline>,
}

impl Bench {
    pub fn lab() -> Bench {
        let plan = lab_plan();
        Bench {
            target: target(&plan),
            plan,
            clock: FakeClock::new(),
            before: None,
        }
    }

    /// Runs `step` on EX02 against `exec`, with `prior` as the changes
    /// journaled before; its result and what it reported.
    pub fn run(
        &self,
        step: &dyn Step,
        exec: &dyn Executor,
        prior: Vec<Change>,
    ) -> (Result<StepOutcome, StepError>, Recorder) {
        let mut ev = Recorder::default();
        let mut ctx = context(
            &self.plan,
            &self.target,
            "EX02",
            exec,
            &self.clock,
            &mut ev,
            prior,
        );
        ctx.observed_before = self.before.clone();
        let result = step.run(&mut ctx);
        (result, ev)
    }

    /// `run`, expecting the step to end well.
    #[track_caller]
    pub fn ok(
        &self,
        step: &dyn Step,
        exec: &dyn Executor,
        prior: Vec<Change>,
    ) -> (StepOutcome, Recorder) {
        let (result, ev) = self.run(step, exec, prior);
        (result.expect("the step ends well"), ev)
    }

    /// `run`, expecting the step to fail.
    #[track_caller]
    pub fn err(
        &self,
        step: &dyn Step,
        exec: &dyn Executor,
        prior: Vec<Change>,
    ) -> (StepError, Recorder) {
        let (result, ev) = self.run(step, exec, prior);
        match result {
            Ok(out) => panic!("the step should fail, but ended with {out:?}"),
            Err(e) => (e, ev),
        }
    }
}
