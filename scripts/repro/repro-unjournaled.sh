#!/usr/bin/env bash
# repro-unjournaled.sh: a crash between a change on a server and its journal record leaves that
# server in maintenance for good, and sometimes silently (reliability.md, problem 1).
#
# What it reproduces:
#   runbook/steps/common.rs::act runs the script on the server first and journals the change
#   afterwards. The script starts `cu-roll lab serve` for unjournaled-winrm.toml (plans/lab-winrm.toml
#   on 127.0.0.1:35985-35987), runs the rollout over WinRM against it, watches the lab's world file
#   and SIGKILLs the orchestrator as soon as the change appears there, i.e. after the server made
#   the change and before the journal records it. It then runs `unlock --force` and resumes up to
#   3 times, 3 s apart, and reads the lab's world. Three cases:
#     blocked  EX02's DatabaseCopyAutoActivationPolicy Blocked is lost: the resume notes "activation
#              policy was already Blocked before cu-roll", upgrades EX02 and leaves it Blocked; the
#              EX03 gate then refuses on every resume (exit 1, 1, 1).
#     last     EX03's (the last server's) Blocked is lost: the resume exits 0 ("every server is at
#              the target") with EX03 still Blocked.
#     paused   EX02's Suspend-ClusterNode is lost: exit-maintenance fails on every resume ("cluster
#              node is Paused, not Up ... Paused, but not by cu-roll: left Paused"), exit 1, 1, 1.
#   The kill lands in the window in about 2 of 3 tries; each case is tried up to ATTEMPTS times
#   (default 5) until it does. Each try prints "change_in_journal": false when it hit the window.
#
# Correct behaviour:
#   A resumed run recognises maintenance it started itself even when the last record is missing
#   (for example an intent record journaled before each action and reconciled on resume), undoes
#   it, and finishes with exit 0 and every server Unrestricted, cluster node Up and back in
#   service. exit-maintenance never reports a server as back in service, and a run never exits 0,
#   while the activation policy differs from the value recorded before maintenance.
#
# Usage, from the root of the cu-roll checkout:
#   bash path/to/repro/repro-unjournaled.sh [blocked] [last] [paused]    # default: all three
# Uses target/release/cu-roll (built with `cargo build --release` if missing), scratch in a
# `mktemp -d` directory (kept, its path is printed), WinRM on 127.0.0.1 ports 35985-35987 only,
# and CU_ROLL_CONFIG_DIR inside the scratch directory. Ends only the processes it started, by
# PID. Runs for about 1-3 minutes.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
plan=$here/unjournaled-winrm.toml

if [ ! -f Cargo.toml ] || ! grep -q '^name = "cu-roll"' Cargo.toml; then
  echo "run this from the root of the cu-roll checkout (the folder with its Cargo.toml)" >&2
  exit 2
fi
B=$PWD/target/release/cu-roll
if [ ! -x "$B" ]; then
  echo "building target/release/cu-roll ..."
  cargo build --release || exit 2
fi
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 2; }
for arg in "$@"; do
  case $arg in blocked|last|paused) ;; *) echo "unknown case '$arg' (blocked, last, paused)" >&2; exit 2 ;; esac
done

scratch=$(mktemp -d -t cu-roll-repro-unjournaled.XXXXXX) || exit 2
echo "scratch directory: $scratch"

python3 - "$B" "$plan" "$scratch" "$@" <<'PY'
import json, os, signal, socket, subprocess, sys, time

B, PLAN, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
CASES = sys.argv[4:] or ["blocked", "last", "paused"]
TARGET = "15.2.1748.43"
PORTS = (35985, 35986, 35987)          # [lab] base_port of unjournaled-winrm.toml, 3 servers
ATTEMPTS = int(os.environ.get("ATTEMPTS", "5"))
RESUMES = 3
ENV = dict(os.environ, CU_ROLL_CONFIG_DIR=os.path.join(SCRATCH, "config"),
           CUROLL_LAB_PASSWORD="lab-only-password")
BY_DESIGN = {"ForwardSyncDaemon", "ProvisioningRps"}

SPEC = {
    "blocked": dict(what="EX02's DatabaseCopyAutoActivationPolicy Blocked", server="EX02",
                    world=b'"activation_policy": "Blocked"', arm=None,
                    journal='"kind":"activation-policy","policy":"Blocked"', recorded_at=1),
    "last": dict(what="EX03's (last server) DatabaseCopyAutoActivationPolicy Blocked", server="EX03",
                 world=b'"activation_policy": "Blocked"', arm='"event":"server-done","server":"EX02"',
                 journal='"kind":"activation-policy","policy":"Blocked"', recorded_at=2),
    "paused": dict(what="EX02's Suspend-ClusterNode", server="EX02",
                   world=b'"state": "Paused"', arm=None,
                   journal='"kind":"cluster-node-suspended"', recorded_at=1),
}


def busy_ports():
    busy = []
    for port in PORTS:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            busy.append(port)
        finally:
            s.close()
    return busy


def stop(proc):
    """End a process this script started, by its PID: SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except FileNotFoundError:
        return b"" if "b" in mode else ""


def start_serve(sv):
    busy = busy_ports()
    if busy:
        sys.exit(f"ports {busy} on 127.0.0.1 are in use; stop what listens there and run again")
    out = sv + ".serve.out"
    with open(out, "w") as o, open(sv + ".serve.err", "w") as e:
        proc = subprocess.Popen([B, "lab", "serve", PLAN, "--state-dir", sv], stdout=o, stderr=e,
                                stdin=subprocess.DEVNULL, env=ENV)
    for _ in range(300):                       # at most 300 x 50 ms = 15 s
        if proc.poll() is not None:
            sys.exit(f"lab serve exited with {proc.returncode}: {read(sv + '.serve.err').strip()}")
        if len(read(out).splitlines()) >= len(PORTS):   # one `NAME URL` line per server
            return proc
        time.sleep(0.05)
    stop(proc)
    sys.exit("lab serve did not report its listeners within 15 s")


def server_state(world, name):
    for s in world["servers"]:
        if s["name"] == name:
            return s
    raise KeyError(name)


def describe(s):
    held = sorted({f'{c["component"]} {r["state"]} ({r["requester"]})'
                   for c in s["components"] if c["component"] not in BY_DESIGN
                   for r in c["local"] if r["state"] != "Active"})
    return "; ".join([
        f'build {s["build"]}' + ("" if s["build"] == TARGET else " (below the target)"),
        f'activation policy {s["activation_policy"]}',
        f'cluster node {s["cluster_node"]["state"]}',
        "components held non-Active: " + (", ".join(held) if held else "none")])


def stop_message(err):
    lines = err.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("cu-roll: stopped:"):
            more = [l.strip() for l in lines[i + 1:i + 4] if l.startswith("  - ")]
            return " ".join([line[:220]] + more)
    for line in lines:
        if "rollout done" in line:
            return line.split(" ", 1)[1] if line[:4].isdigit() else line
    return ""


def attempt(case, n):
    spec = SPEC[case]
    tag = f"{case}{n}"
    sv, orch_dir = os.path.join(SCRATCH, tag + "-lab"), os.path.join(SCRATCH, tag + "-run")
    serve = start_serve(sv)
    try:
        with open(orch_dir + ".out", "w") as o, open(orch_dir + ".err", "w") as e:
            orch = subprocess.Popen([B, "run", PLAN, "--yes", "--state-dir", orch_dir], stdout=o,
                                    stderr=e, stdin=subprocess.DEVNULL, env=ENV)
        world_file, journal = os.path.join(sv, "lab-world.json"), os.path.join(orch_dir, "journal.jsonl")
        last, armed, killed, t0 = None, spec["arm"] is None, False, time.time()
        while time.time() - t0 < 90 and orch.poll() is None:     # at most 90 s
            try:
                st = os.stat(world_file)
                stamp = (st.st_ino, st.st_mtime_ns)
            except FileNotFoundError:
                stamp = None
            if stamp is not None and stamp != last:
                last = stamp
                if not armed:
                    armed = spec["arm"] in read(journal)
                # The lab writes its world as compact JSON since it saves
                # only on change; the review's pattern had a space.
                if armed and spec["world"].replace(b'": "', b'":"') in read(world_file, "rb"):
                    os.kill(orch.pid, signal.SIGKILL)
                    killed = True
                    break
            time.sleep(0.0005)
        if orch.poll() is None and not killed:
            os.kill(orch.pid, signal.SIGKILL)
        orch.wait()
        after = time.time() - t0
        recorded = read(journal).count(spec["journal"]) >= spec["recorded_at"]
        print(json.dumps({"case": case, "try": n, "killed": killed, "after_s": round(after, 3),
                          "change_in_journal": recorded}), flush=True)
        if not killed:
            return None
        # With write-ahead intents the journal names the change before the server makes it,
        # so `recorded` is expected to be true: the window the review found is gone. The kill
        # still lands between the change and its outcome record; resume and judge the result.

        subprocess.run([B, "unlock", PLAN, "--force", "--state-dir", orch_dir], env=ENV,
                       capture_output=True, timeout=60)
        rcs, last_stop = [], ""
        for i in range(1, RESUMES + 1):
            err_path = f"{orch_dir}.resume{i}.err"
            with open(f"{orch_dir}.resume{i}.out", "w") as o, open(err_path, "w") as e:
                try:
                    rc = subprocess.run([B, "run", PLAN, "--yes", "--state-dir", orch_dir], stdout=o,
                                        stderr=e, stdin=subprocess.DEVNULL, env=ENV,
                                        timeout=300).returncode
                except subprocess.TimeoutExpired:     # subprocess.run kills that child by PID
                    rc = "timeout"
            rcs.append(rc)
            last_stop = stop_message(read(err_path))
            print(json.dumps({"case": case, "resume": i, "rc": rc}), flush=True)
            if rc == 0:
                break
            time.sleep(3)
        state = subprocess.run([B, "lab", "state", PLAN, "--format", "json", "--state-dir", sv],
                               env=ENV, capture_output=True, text=True, timeout=60)
        world = json.loads(state.stdout)
        return dict(rcs=rcs, last_stop=last_stop, world=world, scratch=orch_dir, recorded=recorded)
    finally:
        stop(serve)


summary, missed, dirty = [], [], []
for case in CASES:
    spec = SPEC[case]
    print(f"== {case}: kill after {spec['what']} reaches the server, before the journal records it",
          flush=True)
    result = None
    for n in range(1, ATTEMPTS + 1):
        result = attempt(case, n)
        if result:
            break
    if not result:
        missed.append(case)
        summary.append(f"{case}: the kill never landed in the window in {ATTEMPTS} tries "
                       "(run again, or raise ATTEMPTS)")
        continue
    world, name = result["world"], spec["server"]
    s = server_state(world, name)
    rcs = ",".join(str(rc) for rc in result["rcs"])
    if case == "paused":
        left = f"{name} left with cluster node {s['cluster_node']['state']}"
    else:
        left = f"{name} left with activation policy {s['activation_policy']}"
    others = "; ".join(f"{o['name']} at {o['build']}" for o in world["servers"] if o["name"] != name)
    clean = (result["rcs"][-1] == 0 and all(o["build"] == TARGET for o in world["servers"])
             and s["activation_policy"] == "Unrestricted" and s["cluster_node"]["state"] == "Up"
             and "none" in describe(s).split("components held non-Active: ")[1])
    if not clean:
        dirty.append(case)
    journaled = "intent journaled before the change" if result["recorded"] else "not journaled"
    summary.append(
        f"{case}: {'CLEAN' if clean else 'NOT CLEAN'}: {spec['what']} applied, {journaled} (try {n}); resumes exited {rcs}; {left}\n"
        f"    {name}: {describe(s)}\n"
        f"    others: {others}\n"
        f"    last resume said: {result['last_stop']}\n"
        f"    logs: {result['scratch']}*")

print("\nObserved:")
for line in summary:
    print("  " + line)
sys.exit(1 if missed or dirty else 0)
PY
rc=$?
echo "scratch directory (journals, logs, lab worlds): $scratch"
exit $rc
