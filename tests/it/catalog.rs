//! `cu-roll catalog` and `cu-roll catalog update`: a catalogue file served
//! from a tiny HTTP server on 127.0.0.1 inside the test, checked by hash,
//! compatibility and syntax, stored in the test's own `CU_ROLL_CONFIG_DIR`
//! (the harness passes it to every child), and then used by `report` and
//! plan validation until `--reset`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use sha2::{Digest, Sha256};

use crate::harness::{repo, Env, LabPlan};

const JUN26SU_UNVERIFIED: &str = "  { name = \"Jun26SU\", kind = \"SU\", build = \"15.2.1748.46\", released = \"2026-06-09\", verified = false },\n";
const AUG26SU: &str = "  { name = \"Aug26SU\", kind = \"SU\", build = \"15.2.1748.49\", released = \"2026-08-11\", verified = false },\n";

/// TEST DATA, not real Exchange facts: the embedded catalogue with 2019
/// CU15 Jun26SU marked verified and a fabricated `Sep26SU` (unverified)
/// after Aug26SU.
fn test_catalogue() -> String {
    let embedded = std::fs::read_to_string(repo().join("data/catalog.toml")).unwrap();
    assert!(embedded.contains(JUN26SU_UNVERIFIED) && embedded.contains(AUG26SU));
    embedded
        .replacen(
            JUN26SU_UNVERIFIED,
            &JUN26SU_UNVERIFIED.replace(", verified = false", ""),
            1,
        )
        .replacen(
            AUG26SU,
            &format!(
                "{AUG26SU}  # TEST DATA (tests/it/catalog.rs): a fabricated update.\n  \
                 {{ name = \"Sep26SU\", kind = \"SU\", build = \"15.2.1748.52\", released = \"2026-09-08\", verified = false }},\n"
            ),
            1,
        )
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves `files` (path → body) over HTTP/1.1 on 127.0.0.1 until the test
/// process ends; any other path is a 404. Returns the base URL.
fn serve(files: HashMap<&'static str, String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Skip the headers up to the blank line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = match files.get(path) {
                Some(body) => ("200 OK", body.as_str()),
                None => ("404 Not Found", "not found"),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

fn stored_file(env: &Env) -> std::path::PathBuf {
    env.config_dir().join("catalog.toml")
}

fn cu15_update<'a>(json: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    json["cus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "2019-CU15")
        .unwrap()["updates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == name)
}

#[test]
fn update_over_http_overrides_every_command_until_reset() {
    let env = Env::new();
    let text = test_catalogue();
    let hash = sha256(&text);
    let base = serve(HashMap::from([("/catalog.toml", text.clone())]));
    let url = format!("{base}/catalog.toml");

    let before = env.run(&["catalog", "--format", "json"]).expect_code(0);
    let before = before.json();
    assert_eq!(before["source"], "built-in");
    assert_eq!(before["schema_version"], 1);
    assert_eq!(cu15_update(&before, "Jun26SU").unwrap()["verified"], false);
    assert!(cu15_update(&before, "Sep26SU").is_none());

    let run = env
        .run(&["catalog", "update", "--from", &url, "--sha256", &hash])
        .expect_code(0);
    assert!(run.stderr.contains(&hash), "{}", run.stderr);
    assert!(
        run.stderr.contains("new entries: 2019-CU15 Sep26SU"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(stored_file(&env)).unwrap(), text);

    let after = env.run(&["catalog", "--format", "json"]).expect_code(0);
    let after = after.json();
    assert_eq!(after["source"], "stored");
    assert_eq!(
        after["path"],
        stored_file(&env).display().to_string().as_str()
    );
    assert_eq!(
        cu15_update(&after, "Jun26SU").unwrap(),
        &serde_json::json!({
            "name": "Jun26SU", "kind": "SU", "build": "15.2.1748.46",
            "released": "2026-06-09", "verified": true
        })
    );
    assert_eq!(cu15_update(&after, "Sep26SU").unwrap()["verified"], false);
    let table = env.run(&["catalog", "list"]).expect_code(0);
    assert!(
        table
            .stdout
            .contains("Sep26SU  SU  15.2.1748.52    2026-09-08  UNVERIFIED"),
        "{}",
        table.stdout
    );
    assert!(table
        .stdout
        .contains("Latest verified update: Jun26SU 15.2.1748.46"));

    // `report` resolves "latest" through the stored catalogue.
    let plan = env.plan("lab.toml");
    let report = env
        .run(&["report", plan.to_str().unwrap(), "--format", "json"])
        .json();
    assert_eq!(
        report["target"]["name"],
        "Exchange Server 2019 CU15 Jun26SU"
    );
    // Plan validation knows the stored catalogue's entries.
    let sep_plan = LabPlan::new()
        .rollout("security_update", "Sep26SU")
        .write(&env, "sep.toml");
    let sep = env.run(&["report", sep_plan.to_str().unwrap(), "--format", "json"]);
    assert!(
        !sep.stderr.contains("is not an update of"),
        "{}",
        sep.stderr
    );
    assert_eq!(
        sep.json()["target"]["name"],
        "Exchange Server 2019 CU15 Sep26SU"
    );

    let reset = env.run(&["catalog", "update", "--reset"]).expect_code(0);
    assert!(reset.stderr.contains("removed the stored catalogue"));
    assert!(!stored_file(&env).exists());
    let restored = env.run(&["catalog", "--format", "json"]).expect_code(0);
    assert_eq!(restored.json(), before);
    let refused = env
        .run(&["report", sep_plan.to_str().unwrap()])
        .expect_code(2);
    assert!(
        refused
            .stderr
            .contains("security_update 'Sep26SU' is not an update of"),
        "{}",
        refused.stderr
    );
    // A second reset is not an error.
    let again = env.run(&["catalog", "update", "--reset"]).expect_code(0);
    assert!(
        again.stderr.contains("no stored catalogue"),
        "{}",
        again.stderr
    );
}

#[test]
fn bad_hash_is_refused_and_nothing_is_stored() {
    let env = Env::new();
    let text = test_catalogue();
    let base = serve(HashMap::from([("/catalog.toml", text.clone())]));
    let wrong = "ab".repeat(32);
    let run = env
        .run(&[
            "catalog",
            "update",
            "--from",
            &format!("{base}/catalog.toml"),
            "--sha256",
            &wrong,
        ])
        .expect_code(2);
    assert!(run.stderr.contains("sha256 mismatch"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("expected {wrong}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("got {}", sha256(&text))),
        "{}",
        run.stderr
    );
    assert!(!env.config_dir().exists(), "nothing may be stored");
    let list = env.run(&["catalog", "--format", "json"]).expect_code(0);
    assert_eq!(list.json()["source"], "built-in");
}

#[test]
fn incompatible_malformed_and_unreachable_catalogues_are_refused() {
    let env = Env::new();
    let text = test_catalogue();
    let future = text.replacen("cu_roll = \">=0.1\"", "cu_roll = \">=9\"", 1);
    let broken_build = "build = \"15.2.1748.52\"";
    let malformed = text.replacen(broken_build, "build = \"15.2.1748\"", 1);
    let bad_line = malformed
        .lines()
        .position(|l| l.contains("build = \"15.2.1748\""))
        .unwrap()
        + 1;
    let base = serve(HashMap::from([
        ("/future.toml", future),
        ("/malformed.toml", malformed.clone()),
    ]));

    let run = env
        .run(&[
            "catalog",
            "update",
            "--from",
            &format!("{base}/future.toml"),
        ])
        .expect_code(2);
    assert!(
        run.stderr
            .contains("requires cu-roll >=9 but this is cu-roll"),
        "{}",
        run.stderr
    );

    let run = env
        .run(&[
            "catalog",
            "update",
            "--from",
            &format!("{base}/malformed.toml"),
        ])
        .expect_code(2);
    assert!(
        run.stderr.contains(&format!("catalogue line {bad_line}")),
        "line {bad_line}: {}",
        run.stderr
    );

    // The same checks apply to a local file.
    let file = env.write_plan("malformed-catalog.toml", &malformed);
    let run = env
        .run(&["catalog", "update", "--from", file.to_str().unwrap()])
        .expect_code(2);
    assert!(run.stderr.contains(&format!("catalogue line {bad_line}")));

    let run = env
        .run(&[
            "catalog",
            "update",
            "--from",
            &format!("{base}/missing.toml"),
        ])
        .expect_code(1);
    assert!(run.stderr.contains("HTTP 404"), "{}", run.stderr);

    assert!(!env.config_dir().exists(), "nothing may be stored");
}

#[test]
fn a_broken_stored_catalogue_is_an_error_naming_it() {
    let env = Env::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        stored_file(&env),
        "format = 1\ncu_roll = \">=0.1\"\ncu = [\n",
    )
    .unwrap();
    let name = stored_file(&env).display().to_string();
    let list = env.run(&["catalog"]).expect_code(2);
    assert!(list.stderr.contains(&name), "{}", list.stderr);
    assert!(list.stderr.contains("--reset"), "{}", list.stderr);
    let plan = env.plan("lab.toml");
    let report = env.run(&["report", plan.to_str().unwrap()]).expect_code(2);
    assert!(report.stderr.contains(&name), "{}", report.stderr);
    env.run(&["catalog", "update", "--reset"]).expect_code(0);
    env.run(&["catalog"]).expect_code(0);
}

/// A stdout that refuses the answer (here /dev/full: every write fails with
/// "no space left") is exit 8, not a panic and not "a step failed".
#[cfg(target_os = "linux")]
#[test]
fn a_stdout_that_cannot_be_written_is_exit_5() {
    let env = Env::new();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cu-roll"))
        .arg("catalog")
        .env("CU_ROLL_CONFIG_DIR", env.config_dir())
        .stdout(full)
        .output()
        .expect("run cu-roll");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.starts_with("cu-roll: writing to stdout: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "printed once: {stderr}");
}

/// `data/catalog.toml` is generated: the checked-in file must be exactly
/// what `scripts/gen-catalog` makes from HealthChecker's table and
/// `data/sources/catalog-extra.toml`, so no hand edit drifts from its
/// sources. Needs python3 (3.11, for tomllib), as `./scripts/test` does.
#[test]
fn the_catalogue_is_what_the_generator_makes() {
    let repo = crate::harness::repo();
    let Ok(out) = std::process::Command::new("python3")
        .arg(repo.join("scripts/gen-catalog"))
        .arg("--check")
        .output()
    else {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    };
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
