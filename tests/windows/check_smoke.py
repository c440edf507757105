#!/usr/bin/env python3
"""Judges what cu-roll.exe printed under Wine (scripts/windows-smoke).

Reads the JSON outputs the smoke test kept in OUT_DIR and checks what a
finished rollout of plans/lab.toml must leave, as tests/it/rollout.rs's
`assert_rolled` does for the Linux build:

- report-before.json: the target is 2019 CU15; EX01 is up to date, EX02 and
  EX03 are below the target and `ready`; the overall verdict lets the run go.
- report-after.json: every server at the target build, out of maintenance
  (activation Unrestricted, cluster node Up), every database copy healthy
  and active exactly where its activation preference is 1.
- lab-state.json: every lab server at the target, an empty availability
  record (no database was ever unavailable), no pending transition.
- status.json: the journal says done; EX01 skipped, EX02 and EX03 done.

Exits 1 with every failed check listed; prints how many passed.
"""

import json
import sys
from pathlib import Path


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)


def load(out_dir, name):
    path = Path(out_dir) / f"{name}.out"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        sys.exit(f"FAILED (Windows smoke): {path} is not JSON: {e}")


def check_before(c, before):
    target = before["target"]
    c.check(target["cu_name"] == "Exchange Server 2019 CU15",
            f"report before: target CU is {target['cu_name']!r}")
    c.check(target["build"].startswith("15.2.1748."),
            f"report before: target build {target['build']} is not a 2019 CU15 build")
    verdicts = {s["name"]: s["verdict"] for s in before["servers"]}
    c.check(verdicts == {"EX01": "up-to-date", "EX02": "ready", "EX03": "ready"},
            f"report before: verdicts {verdicts}")
    for s in before["servers"]:
        if s["name"] != "EX01":
            c.check(s["build"] != target["build"] and s["needs_upgrade"] is True,
                    f"report before: {s['name']} at {s['build']} should need the upgrade")
    c.check(before["blockers"] == [], f"report before: blockers {before['blockers']}")
    return target["build"]


def check_after(c, after, target_build):
    c.check(after["target"]["build"] == target_build,
            f"report after: target changed to {after['target']['build']}")
    c.check(len(after["servers"]) == 3, f"report after: {len(after['servers'])} servers")
    for s in after["servers"]:
        name, m = s["name"], s["maintenance"]
        c.check(s["build"] == target_build, f"report after: {name} at {s['build']}, not {target_build}")
        c.check(s["needs_upgrade"] is False, f"report after: {name} still needs the upgrade")
        c.check(m["in_maintenance"] is False, f"report after: {name} in maintenance: {m}")
        c.check(m["activation_policy"] == "Unrestricted", f"report after: {name} activation {m}")
        c.check(m["cluster_node"] == "Up", f"report after: {name} cluster node {m['cluster_node']}")
        c.check(len(s["copies"]) > 0, f"report after: {name} has no database copies")
        for copy in s["copies"]:
            preferred = copy["activation_preference"] == 1
            c.check(copy["active"] is preferred,
                    f"report after: {copy['name']} active={copy['active']}, preference {copy['activation_preference']}")
            c.check(copy["ok"] is True, f"report after: {copy['name']} not ok: {copy}")


def check_lab_state(c, state, target_build):
    builds = {s["name"]: s["build"] for s in state["servers"]}
    c.check(builds == {n: target_build for n in ("EX01", "EX02", "EX03")},
            f"lab state: builds {builds}")
    c.check(state["availability"] == [], f"lab state: availability record {state['availability']}")
    c.check(state["pending"] == [], f"lab state: pending transitions {state['pending']}")


def check_status(c, status):
    c.check(status["overall"] == "done", f"status: overall {status['overall']!r}")
    c.check(status["lock"] is None, f"status: lock {status['lock']}")
    states = {s["name"]: s["state"] for s in status["servers"]}
    c.check(states == {"EX01": "skipped", "EX02": "done", "EX03": "done"}, f"status: {states}")
    for s in status["servers"]:
        c.check(s["error"] is None, f"status: {s['name']} error {s['error']!r}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_smoke.py OUT_DIR")
    out = sys.argv[1]
    c = Checks()
    target_build = check_before(c, load(out, "report-before"))
    check_after(c, load(out, "report-after"), target_build)
    check_lab_state(c, load(out, "lab-state"), target_build)
    check_status(c, load(out, "status"))
    for what in c.failed:
        print(f"FAILED (Windows smoke): {what}", file=sys.stderr)
    print(f"windows smoke JSON: {c.passed} checks passed, {len(c.failed)} failed")
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
