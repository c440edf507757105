//! Tests of `Lab`: the clock file, saving only changes.

use super::*;
use crate::testkit::three_member_spec;
use std::fs;

/// `advance` moves the lab's clock, a second `Lab` on the same state
/// directory (another process, or `lab serve`) sees it at its next call,
/// and `reset` puts the clock back on the wall clock.
#[test]
fn advance_moves_the_clock_for_every_lab_on_the_state_dir_until_reset() {
    let dir = tempfile::tempdir().unwrap();
    let spec = three_member_spec();
    let serving = Lab::open(dir.path(), &spec, &spec.dag).unwrap();
    serving.run_cmd("EX01", "hostname").unwrap();
    let before = serving.world().now_ms;

    let other = Lab::open(dir.path(), &spec, &spec.dag).unwrap();
    assert_eq!(other.advance(60_000).unwrap(), 60_000);
    assert_eq!(other.advance(1_000).unwrap(), 61_000);

    serving.run_cmd("EX01", "hostname").unwrap();
    let after = serving.world().now_ms;
    assert!(after >= before + 61_000, "{before} -> {after}");
    assert!(after < wall_clock_ms() + 61_000 + 1_000, "{after}");
    let shown = serving.state_json()["now_ms"].as_i64().unwrap();
    assert!(shown >= after, "{shown} < {after}");

    Lab::reset(dir.path(), &spec, &spec.dag).unwrap();
    assert!(!dir.path().join(CLOCK_FILE).exists());
    let fresh = Lab::open(dir.path(), &spec, &spec.dag).unwrap();
    fresh.run_cmd("EX01", "hostname").unwrap();
    assert!(fresh.world().now_ms < before + 60_000);
}

/// A query leaves the world file alone; a change rewrites it (compact
/// JSON, without the PowerShell logs); the logs reach their own file when
/// the lab is dropped (or every `LOGS_EVERY`), and come back on open.
#[test]
fn only_a_change_writes_the_world_and_the_logs_follow_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let spec = three_member_spec();
    let file = dir.path().join(WORLD_FILE);
    let logs = dir.path().join(super::LOGS_FILE);
    let lab = Lab::open(dir.path(), &spec, &spec.dag).unwrap();
    let written = fs::read(&file).unwrap();
    assert!(!written.contains(&b'\n'), "the world file is compact JSON");
    let no_logs = fs::read(&logs).unwrap();
    lab.run_cmd("EX01", "hostname").unwrap();
    lab.run_ps("EX01", "Get-Date | Out-Null").unwrap();
    assert_eq!(fs::read(&file).unwrap(), written, "a query wrote the world");

    lab.run_ps(
        "EX02",
        "New-Item -ItemType Directory -Path C:\\cu-roll-test | Out-Null",
    )
    .unwrap();
    let changed = fs::read(&file).unwrap();
    assert_ne!(changed, written, "a change was not saved");
    let saved: World = serde_json::from_slice(&changed).unwrap();
    assert!(
        saved
            .servers
            .iter()
            .all(|s| s.powershell_log.script_blocks.is_empty()),
        "the world file holds no logs"
    );
    assert!(saved.servers[1]
        .directories
        .iter()
        .any(|d| d.contains("cu-roll-test")));
    assert_eq!(
        fs::read(&logs).unwrap(),
        no_logs,
        "logs written before LOGS_EVERY"
    );

    lab.run_ps("EX03", "Get-Date | Out-Null").unwrap();
    assert_eq!(fs::read(&file).unwrap(), changed);
    let live = lab.world();
    drop(lab);
    let text = String::from_utf8(fs::read(&logs).unwrap()).unwrap();
    assert!(text.contains("Get-Date"), "{text}");
    let again = Lab::open(dir.path(), &spec, &spec.dag).unwrap();
    let back = again.world();
    assert_eq!(back.servers[2].powershell_log.script_blocks.len(), 1);
    for (a, b) in back.servers.iter().zip(&live.servers) {
        assert_eq!(a.powershell_log, b.powershell_log, "{}", a.name);
    }
    // A reset starts with no logs, whatever an older run left.
    drop(again);
    let fresh = Lab::reset(dir.path(), &spec, &spec.dag).unwrap();
    assert!(fresh
        .world()
        .servers
        .iter()
        .all(|s| s.powershell_log.script_blocks.is_empty()));
    drop(fresh);
    let reopened = Lab::open(dir.path(), &spec, &spec.dag).unwrap();
    assert!(reopened
        .world()
        .servers
        .iter()
        .all(|s| s.powershell_log.script_blocks.is_empty()));
}

/// A damaged logs file is an error that names it, as a damaged world is.
#[test]
fn a_damaged_logs_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let spec = three_member_spec();
    drop(Lab::open(dir.path(), &spec, &spec.dag).unwrap());
    fs::write(dir.path().join(super::LOGS_FILE), "not json").unwrap();
    let err = Lab::open(dir.path(), &spec, &spec.dag)
        .err()
        .expect("refused");
    assert!(err.to_string().contains(super::LOGS_FILE), "{err}");
}

#[test]
fn a_damaged_clock_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let lab = Lab::open(dir.path(), &three_member_spec(), "DAG01").unwrap();
    fs::write(dir.path().join(CLOCK_FILE), "not json").unwrap();
    let err = lab.run_cmd("EX01", "hostname").unwrap_err();
    assert!(matches!(err, LabError::Clock { .. }), "{err}");
    assert!(err.to_string().contains(CLOCK_FILE), "{err}");
}

/// A long-lived powershell.exe (`-Command -`): one start for many
/// commands, variables kept between commands (a script block's own stay
/// in it, `$global:` ones do not), `$?` is the last command's status, a
/// command reads the lines after its own from stdin, and the input that
/// arrived together counts as one call.
#[test]
fn a_process_keeps_its_state_between_commands_and_counts_one_start() {
    let dir = tempfile::tempdir().unwrap();
    let spec = three_member_spec();
    let lab = Lab::open(dir.path(), &spec, &spec.dag).unwrap();
    let mut p = lab.start_process("EX01").unwrap();
    let mut run = |command: &str, stdin: &mut String| {
        lab.run_in_process(&mut p, command, stdin).unwrap().unwrap()
    };
    let mut none = String::new();
    run("$a = 6", &mut none);
    assert_eq!(run("$a * 7", &mut none).stdout.trim_end(), "42");
    run("& { $b = 1; $global:c = 2 }", &mut none);
    assert_eq!(run("\"[$b][$c]\"", &mut none).stdout.trim_end(), "[][2]");
    let failed = run("throw 'boom'", &mut none);
    assert_eq!(failed.exit_code, 1);
    assert_eq!(run("$?", &mut none).stdout.trim_end(), "False");
    assert_eq!(run("$?", &mut none).stdout.trim_end(), "True");
    let mut stdin = "second\r\nthird\r\n".to_string();
    let out = run(
        "[Console]::In.ReadLine(); [Console]::Error.WriteLine('e')",
        &mut stdin,
    );
    assert_eq!(
        (out.stdout.trim_end(), out.stderr.as_str()),
        ("second", "e\r\n")
    );
    assert_eq!(stdin, "third\r\n");
    lab.end_batch(&mut p).unwrap();
    let c = lab.counts();
    assert_eq!((c.powershell_starts, c.calls), (1, 1), "{c:?}");
}

/// A call that spent lab time (a script's `Start-Sleep`, a restart) leaves the world's clock ahead of the wall clock; `advance` counts
/// from there, so a hold that began then ends `by` later (it counted from
/// the wall clock, and a 2-minute advance fell short of a 2-minute hold).
#[test]
fn advance_counts_from_a_world_clock_that_runs_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let spec = three_member_spec();
    let lab = Lab::open(dir.path(), &spec, &spec.dag).unwrap();
    lab.run_ps("EX01", "Start-Sleep -Seconds 90").unwrap();
    let ahead = lab.world().now_ms;
    assert!(
        ahead > wall_clock_ms() + 60_000,
        "the sleep spent 90 s of lab time"
    );
    lab.advance(60_000).unwrap();
    lab.run_cmd("EX01", "hostname").unwrap();
    assert!(lab.world().now_ms >= ahead + 60_000);
}

/// `[lab.timings] import_session` is paid once per `Import-PSSession` a
/// script or a long-lived process's command runs, and counted.
#[test]
fn each_import_pays_import_session_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = three_member_spec();
    spec.timings.import_session = std::time::Duration::from_millis(150);
    let lab = Lab::open(dir.path(), &spec, &spec.dag).unwrap();
    let open = "$secret = New-Object -TypeName System.Security.SecureString
foreach ($c in 'lab-only-password'.ToCharArray()) { $secret.AppendChar($c) }
$credential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList 'LAB\\admin', $secret
$s = New-PSSession -ConfigurationName 'Microsoft.Exchange' -ConnectionUri 'http://ex02.contoso.local/PowerShell/' -Authentication 'Kerberos' -Credential $credential
";
    let import =
        "$null = Import-PSSession -Session $s -CommandName 'Get-MailboxServer' -AllowClobber\n";
    let started = std::time::Instant::now();
    let out = lab
        .run_ps("EX01", &format!("{open}{import}{import}"))
        .unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(lab.counts().imports, 2);

    let mut p = lab.start_process("EX01").unwrap();
    let mut none = String::new();
    lab.run_in_process(&mut p, open, &mut none)
        .unwrap()
        .unwrap();
    let started = std::time::Instant::now();
    let out = lab
        .run_in_process(&mut p, import, &mut none)
        .unwrap()
        .unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    assert_eq!(lab.counts().imports, 3);
}
