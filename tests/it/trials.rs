//! What the crash harness and the fault matrix share: judging a lab world
//! (`cu-roll lab state --format json`) against "every server at the
//! target and in service, availability kept", and running trials side by
//! side.

use serde_json::Value;

/// Every problem of a `cu-roll lab state` world: an availability record
/// that is not empty, and each server not at `build` or not in service.
pub fn world_problems(world: &Value, build: &str) -> Vec<String> {
    let mut out = Vec::new();
    if world["availability"] != Value::Array(vec![]) {
        out.push(format!("availability record: {}", world["availability"]));
    }
    for s in world["servers"].as_array().expect("servers") {
        let bad = server_problems(s, build);
        if !bad.is_empty() {
            out.push(format!(
                "{}: {}",
                s["name"].as_str().unwrap_or("?"),
                bad.join(", ")
            ));
        }
    }
    out
}

/// What keeps one server of a `lab state` world from being at `build` and
/// in service: a component held non-Active by any requester
/// (ForwardSyncDaemon and ProvisioningRps excepted, by design), activation
/// policy not Unrestricted (the lab's baseline), MoveNow on, cluster node
/// not Up, a pending reboot or a half-done setup, a front-end transport
/// still running as started in maintenance.
pub fn server_problems(s: &Value, build: &str) -> Vec<String> {
    let by_design = ["ForwardSyncDaemon", "ProvisioningRps"];
    let mut bad = Vec::new();
    if s["build"] != build {
        bad.push(format!("build {}", s["build"]));
    }
    for c in s["components"].as_array().into_iter().flatten() {
        let comp = c["component"].as_str().unwrap_or("?");
        if by_design.contains(&comp) {
            continue;
        }
        for r in c["local"].as_array().into_iter().flatten() {
            if r["state"] != "Active" {
                bad.push(format!("{comp} {} ({})", r["state"], r["requester"]));
            }
        }
    }
    if s["activation_policy"] != "Unrestricted" {
        bad.push(format!("activation policy {}", s["activation_policy"]));
    }
    if s["move_now"] == true {
        bad.push("MoveNow $true".into());
    }
    if s["cluster_node"]["state"] != "Up" {
        bad.push(format!("cluster node {}", s["cluster_node"]["state"]));
    }
    if !s["pending_reboot"].is_null() || !s["partial_setup"].is_null() {
        bad.push("a pending reboot or a partial setup".into());
    }
    // The front end started at boot while the server was offline and was
    // not restarted after maintenance (review real-exchange.md #15).
    if s["frontend_started_offline"] == true {
        bad.push("MSExchangeFrontEndTransport still as started in maintenance".into());
    }
    bad
}

/// Runs `f` over `items` on `jobs` threads (each trial has its own
/// directory and processes); results in `items` order.
pub fn parallel<T: Sync, R: Send>(jobs: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                *results[i].lock().unwrap() = Some(f(item));
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().unwrap().expect("every trial ran"))
        .collect()
}
