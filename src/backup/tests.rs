//! The backup against the in-process lab: plans/lab.toml, a temp state dir.

use std::path::Path;

use super::*;
use crate::commands::LabExecutor;
use crate::plan::Plan;

pub(crate) struct TestLab {
    pub plan: Plan,
    pub exec: LabExecutor,
    pub state: tempfile::TempDir,
}

impl TestLab {
    pub fn new() -> TestLab {
        let plan = crate::plan::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .expect("plans/lab.toml loads");
        let state = tempfile::tempdir().unwrap();
        let exec = LabExecutor::for_plan(state.path(), &plan);
        TestLab { plan, exec, state }
    }

    pub fn server(&self, name: &str) -> &Server {
        self.plan.server(name).unwrap()
    }
}

/// Small chunks, so every file takes several calls.
fn small_chunks() -> FetchOptions {
    FetchOptions { chunk_bytes: 700 }
}

#[test]
fn the_lab_lists_the_whole_config_set() {
    let lab = TestLab::new();
    let fetched = fetch_configs(&lab.exec, lab.server("EX02"), &FetchOptions::default()).unwrap();
    let entries: Vec<&str> = fetched
        .files
        .iter()
        .map(|f| f.meta.relative.as_str())
        .collect();
    for want in [
        "ClientAccess/Owa/web.config",
        "ClientAccess/exchweb/ews/web.config",
        "ClientAccess/Sync/web.config",
        "FrontEnd/HttpProxy/owa/web.config",
        "FrontEnd/HttpProxy/mapi/web.config",
        "ClientAccess/SharedWebConfig.config",
        "FrontEnd/HttpProxy/SharedWebConfig.config",
        "Bin/EdgeTransport.exe.config",
        "Bin/MSExchangeFrontEndTransport.exe.config",
        "Bin/MSExchangeDelivery.exe.config",
        "Bin/MSExchangeSubmission.exe.config",
        "IIS/applicationHost.config",
    ] {
        assert!(entries.contains(&want), "{want} missing from {entries:?}");
    }
    assert_eq!(fetched.files.len(), 26);
    assert!(fetched.warnings.is_empty(), "{:?}", fetched.warnings);
    assert!(fetched.files.iter().all(|f| f.meta.modified.ends_with('Z')));
}

#[test]
fn chunked_reads_reassemble_the_same_bytes_as_one_read() {
    let lab = TestLab::new();
    let whole = fetch_configs(&lab.exec, lab.server("EX02"), &FetchOptions::default()).unwrap();
    let chunked = fetch_configs(&lab.exec, lab.server("EX02"), &small_chunks()).unwrap();
    assert_eq!(whole, chunked);
    let owa = whole
        .files
        .iter()
        .find(|f| f.meta.relative == "ClientAccess/Owa/web.config")
        .unwrap();
    assert!(
        owa.bytes.len() > 3 * 700,
        "the OWA web.config takes several chunks"
    );
    assert!(String::from_utf8_lossy(&owa.bytes).contains("BackEndProxyTimeout"));
}

#[test]
fn backup_writes_a_verified_zip_in_the_state_dir() {
    let lab = TestLab::new();
    let result = backup_server_with(
        &lab.exec,
        lab.server("EX02"),
        lab.state.path(),
        &small_chunks(),
    )
    .unwrap();
    assert!(result.zip.starts_with(lab.state.path().join(BACKUP_DIR)));
    assert_eq!(result.manifest.server, "EX02");
    assert_eq!(result.manifest.fqdn, "ex02.contoso.local");
    assert_eq!(result.manifest.files.len(), 26);
    assert_eq!(
        result.sha256,
        sha256_hex(&std::fs::read(&result.zip).unwrap())
    );
    let report = verify(&result.zip).unwrap();
    assert_eq!(report.entries_checked, 26);
    assert_eq!(
        latest_backup(lab.state.path(), "ex02").unwrap().as_deref(),
        Some(result.zip.as_path())
    );
    assert_eq!(latest_backup(lab.state.path(), "EX03").unwrap(), None);
}

#[test]
fn backup_verify_catches_a_corrupted_zip() {
    let lab = TestLab::new();
    let result = backup_server(&lab.exec, lab.server("EX01"), lab.state.path()).unwrap();
    let mut bytes = std::fs::read(&result.zip).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&result.zip, &bytes).unwrap();
    assert!(matches!(
        verify(&result.zip),
        Err(BackupError::Corrupt { .. })
    ));
}

#[test]
fn drift_after_the_cu_reverted_the_customisation_names_it() {
    let lab = TestLab::new();
    let ex02 = lab.server("EX02");
    let backup = backup_server(&lab.exec, ex02, lab.state.path()).unwrap();
    let before = drift_for_server(&lab.exec, ex02, &backup.zip).unwrap();
    assert!(before.reverted().is_empty());
    assert!(before
        .files
        .iter()
        .all(|f| f.status == FileStatus::Unchanged));

    lab.exec
        .lab()
        .with_host("EX02", |h| h.world_mut().revert_customisations("EX02"))
        .unwrap();
    let after = drift_for_server_with(&lab.exec, ex02, &backup.zip, &small_chunks()).unwrap();
    let reverted = after.reverted();
    assert_eq!(reverted.len(), 1, "{}", after.to_text("p.toml"));
    let (file, setting) = reverted[0];
    assert_eq!(file, "ClientAccess/Owa/web.config");
    assert_eq!(setting.key, "BackEndProxyTimeout");
    assert_eq!(setting.old.as_deref(), Some("00:05:00"));
    assert_eq!(setting.new, None);
    let text = after.to_text("plans/q3.toml");
    assert!(text.contains("REVERTED  BackEndProxyTimeout"));
    // One key reverted: the command names the plan and that key.
    assert!(
        text.contains("Re-apply it with `cu-roll restore-config plans/q3.toml --server EX02 --key BackEndProxyTimeout`"),
        "{text}"
    );
}

#[test]
fn restore_config_shows_then_reapplies_one_lost_value() {
    let lab = TestLab::new();
    let ex02 = lab.server("EX02");
    let backup = backup_server(&lab.exec, ex02, lab.state.path()).unwrap();
    lab.exec
        .lab()
        .with_host("EX02", |h| h.world_mut().revert_customisations("EX02"))
        .unwrap();

    let plan = plan_restore(
        &lab.exec,
        ex02,
        &backup.zip,
        "BackEndProxyTimeout",
        None,
        &FetchOptions::default(),
    )
    .unwrap();
    assert_eq!(plan.entry, "ClientAccess/Owa/web.config");
    assert_eq!(plan.current, None);
    assert_eq!(plan.restored, "00:05:00");
    assert!(plan
        .describe()
        .contains("+ <add key=\"BackEndProxyTimeout\" value=\"00:05:00\" />"));
    // Planning changed nothing.
    let unchanged = drift_for_server(&lab.exec, ex02, &backup.zip).unwrap();
    assert_eq!(unchanged.reverted().len(), 1);

    let outcome = apply_restore(&lab.exec, ex02, &plan).unwrap();
    assert_eq!(outcome.sha256, plan.new_sha256);
    assert!(outcome.copy.ends_with(".bak"));
    let fixed = drift_for_server(&lab.exec, ex02, &backup.zip).unwrap();
    assert!(fixed.reverted().is_empty(), "{}", fixed.to_text("p.toml"));

    // The same plan again is refused: the file changed since it was computed.
    let err = apply_restore(&lab.exec, ex02, &plan).unwrap_err();
    assert!(
        err.to_string().contains("changed since cu-roll read it"),
        "{err}"
    );
}

/// Review real-exchange.md #20: IIS's applicationHost.config (redirects,
/// headers, bindings) is in the backup, a change to it shows in the drift,
/// and restore-config refuses to write it back.
#[test]
fn application_host_config_is_backed_up_compared_and_never_restored() {
    let lab = TestLab::new();
    let ex02 = lab.server("EX02");
    let path = r"C:\Windows\System32\inetsrv\config\applicationHost.config";
    // The admin's redirect of / to /owa.
    lab.exec
        .lab()
        .with_host("EX02", |h| {
            let w = h.world_mut();
            let i = w.server_index("EX02").unwrap();
            let text = w.file(i, path).unwrap().content.replace(
                "<httpRedirect enabled=\"false\" />",
                "<httpRedirect enabled=\"true\" destination=\"/owa\" />",
            );
            w.write_config_file(i, path, text);
        })
        .unwrap();
    let backup = backup_server(&lab.exec, ex02, lab.state.path()).unwrap();
    let saved = backup
        .manifest
        .files
        .iter()
        .find(|f| f.entry == APPLICATION_HOST_ENTRY);
    assert!(saved.is_some(), "{:?}", backup.manifest.files);

    lab.exec
        .lab()
        .with_host("EX02", |h| h.world_mut().revert_customisations("EX02"))
        .unwrap();
    let after = drift_for_server(&lab.exec, ex02, &backup.zip).unwrap();
    let iis = after
        .files
        .iter()
        .find(|f| f.entry == APPLICATION_HOST_ENTRY)
        .unwrap();
    assert_eq!(
        iis.status,
        FileStatus::Changed,
        "{}",
        after.to_text("p.toml")
    );
    assert!(
        after.to_text("p.toml").contains("httpRedirect"),
        "{}",
        after.to_text("p.toml")
    );

    let err = plan_restore(
        &lab.exec,
        ex02,
        &backup.zip,
        "destination",
        Some("IIS/applicationHost.config"),
        &FetchOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("never restored"), "{err}");
}

#[test]
fn restore_config_refuses_a_key_that_was_not_reverted() {
    let lab = TestLab::new();
    let ex02 = lab.server("EX02");
    let backup = backup_server(&lab.exec, ex02, lab.state.path()).unwrap();
    let err = plan_restore(
        &lab.exec,
        ex02,
        &backup.zip,
        "BackEndProxyTimeout",
        None,
        &FetchOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("was not reverted"), "{err}");
}

#[test]
fn backup_scripts_are_snapshots_and_parse_under_the_powershell_grammar() {
    let scripts = [
        (
            "backup_list_config_files",
            list_script(&FetchOptions::default()),
        ),
        (
            "backup_read_chunk",
            chunk_script(
                r"C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\Owa\web.config",
                524_288,
                DEFAULT_CHUNK_BYTES,
            ),
        ),
        (
            "backup_restore_app_setting",
            restore_app_setting_script(
                r"C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\Owa\web.config",
                "0f343b0931126a20f133d67c2b018a3b5e5a9c3b6a1b8e0c2f1a2b3c4d5e6f70",
                ".cu-roll-20260110T083000Z.bak",
                b"<configuration />\r\n",
            ),
        ),
    ];
    for (name, script) in scripts {
        if let Err(errors) = lab::pwsh::syntax_check(script.text()) {
            panic!("{name} does not parse: {errors:?}\n{}", script.text());
        }
        insta::assert_snapshot!(name, script.text());
    }
}

/// Counts the calls it passes on to the lab.
struct Counting<'a>(&'a LabExecutor, std::sync::atomic::AtomicUsize);

impl crate::exec::Executor for Counting<'_> {
    fn run_ps(&self, s: &Server, script: &str) -> Result<crate::exec::ExecOutput, ExecError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.run_ps(s, script)
    }
    fn run_ps_with_secret(
        &self,
        s: &Server,
        script: &str,
        secret: &crate::plan::Secret,
    ) -> Result<crate::exec::ExecOutput, ExecError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.run_ps_with_secret(s, script, secret)
    }
    fn run_cmd(&self, s: &Server, line: &str) -> Result<crate::exec::ExecOutput, ExecError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.run_cmd(s, line)
    }
}

/// Issue 13: a server's config set comes back in one call (it was one
/// call per file plus the listing, 26); a file larger than the slice is
/// still read in slices.
#[test]
fn one_call_reads_a_servers_whole_config_set() {
    let lab = TestLab::new();
    let counting = Counting(&lab.exec, Default::default());
    let calls = || counting.1.load(std::sync::atomic::Ordering::SeqCst);
    let whole = fetch_configs(&counting, lab.server("EX02"), &FetchOptions::default()).unwrap();
    assert_eq!(whole.files.len(), 26);
    assert_eq!(calls(), 1);
    fetch_configs(&counting, lab.server("EX02"), &small_chunks()).unwrap();
    assert!(
        calls() > 1 + 26,
        "{} calls with 700-byte slices",
        calls() - 1
    );
}
