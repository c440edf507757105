//! `cu-roll backup`, `backup verify`, `drift` and `restore-config`: the
//! config files a CU overwrites, saved before, compared after, and one lost
//! `appSettings` value put back on request (shown first, journaled).

use std::io::IsTerminal;
use std::path::Path;

use super::{load_plan, open_audited, output, select_servers, state_dir};
use crate::backup::{self, DriftReport};
use crate::cli::{
    BackupArgs, BackupCommand, DriftArgs, DriftFormat, GlobalArgs, RestoreConfigArgs,
};
use crate::error::Error;
use crate::exit::Outcome;
use crate::journal::{Change, Journal, Lock, Record};
use crate::plan::Server;
use crate::report::run::{ConfigDrift, RevertedSetting};

pub fn backup(args: &BackupArgs, global: &GlobalArgs) -> Result<Outcome, Error> {
    if let Some(BackupCommand::Verify { file }) = &args.command {
        return verify(file);
    }
    let plan_path = args.plan.as_deref().ok_or_else(|| {
        Error::Usage("cu-roll backup PLAN [--server NAME], or cu-roll backup verify FILE".into())
    })?;
    let plan = load_plan(plan_path)?;
    let state = state_dir(plan_path, global.state_dir.as_deref());
    let exec = open_audited(&plan, &state, "backup")?;
    let mut outcome = Outcome::Done;
    for server in select_servers(&plan, args.server.as_deref(), plan_path)? {
        match backup::backup_server(exec.as_ref(), server, &state) {
            Ok(r) => {
                output::stdout(&format!(
                    "{}\t{}\t{} files\tsha256 {}\tverified\n",
                    server.name,
                    r.zip.display(),
                    r.manifest.files.len(),
                    r.sha256
                ))?;
                for w in &r.manifest.warnings {
                    eprintln!("{}: warning: {w}", server.name);
                }
            }
            Err(e) => {
                eprintln!("{}: backup failed: {e}", server.name);
                outcome = Outcome::SomeFailed;
            }
        }
    }
    Ok(outcome)
}

fn verify(file: &Path) -> Result<Outcome, Error> {
    let r = backup::verify(file).map_err(|source| Error::Verify {
        file: file.to_path_buf(),
        source,
    })?;
    output::stdout(&format!(
        "{}: {} entries verified, sha256 {}\n",
        file.display(),
        r.entries_checked,
        r.sha256
    ))?;
    Ok(Outcome::Done)
}

/// The drift of one server against the backup the rollout took before its
/// CU (`baseline`), for the run report. `journal` is the current journal,
/// already loaded by the caller: the summary runs for every upgraded
/// server at once, and each loading the whole journal again was the
/// rollout's peak of memory (docs/performance.md, "Memory (figure 4)").
pub fn drift_summary(
    exec: &dyn crate::exec::Executor,
    server: &Server,
    state: &Path,
    journal: &[crate::journal::Entry],
) -> Option<ConfigDrift> {
    let newest = backup::latest_backup(state, &server.name).ok()?;
    let rollout =
        backup_in(journal, state, &server.name).or_else(|| rollout_backup(state, &server.name));
    let zip = backup::drift::baseline::choose(None, rollout, newest)?.zip;
    Some(match backup::drift_for_server(exec, server, &zip) {
        Ok(report) => summarise(&report),
        Err(e) => ConfigDrift {
            server: server.name.clone(),
            backup: zip.display().to_string(),
            reverted: Vec::new(),
            error: Some(e.to_string()),
        },
    })
}

fn summarise(report: &DriftReport) -> ConfigDrift {
    ConfigDrift {
        server: report.server.clone(),
        backup: report.backup.clone(),
        reverted: report
            .reverted()
            .into_iter()
            .map(|(file, s)| RevertedSetting {
                file: file.to_string(),
                key: s.key.clone(),
                backup_value: s.old.clone(),
                current_value: s.new.clone(),
            })
            .collect(),
        error: None,
    }
}

pub fn drift(args: &DriftArgs, global: &GlobalArgs) -> Result<Outcome, Error> {
    let plan = load_plan(&args.plan)?;
    let state = state_dir(&args.plan, global.state_dir.as_deref());
    let exec = open_audited(&plan, &state, "drift")?;
    let mut reports = Vec::new();
    let mut outcome = Outcome::Done;
    for server in select_servers(&plan, args.server.as_deref(), &args.plan)? {
        let Some(base) = baseline(&state, server, args.backup.as_deref())? else {
            eprintln!(
                "{}: no backup in {} (cu-roll backup takes one)",
                server.name,
                state.join("backups").display()
            );
            continue;
        };
        if let Some(newer) = &base.newer_ignored {
            eprintln!(
                "cu-roll: warning: {}: compared with the backup the rollout took before the CU, {}; the newer {} was taken after it and would hide what the CU reverted (--backup FILE compares with another)",
                server.name,
                base.zip.display(),
                newer.display()
            );
        }
        match backup::drift_for_server(exec.as_ref(), server, &base.zip) {
            Ok(mut r) => {
                r.baseline = base.describe();
                reports.push(r);
            }
            Err(e) => {
                eprintln!("{}: {e}", server.name);
                outcome = Outcome::SomeFailed;
            }
        }
    }
    let text = match args.format {
        DriftFormat::Text => {
            let plan = args.plan.display().to_string();
            reports.iter().map(|r| r.to_text(&plan)).collect()
        }
        DriftFormat::Json => {
            // An object, not a bare array, so that it carries its version.
            let doc = serde_json::json!({
                "schema_version": DRIFT_SCHEMA_VERSION,
                "servers": reports,
            });
            let mut json = serde_json::to_string_pretty(&doc).expect("drift reports serialise");
            json.push('\n');
            json
        }
    };
    output::stdout(&text)?;
    Ok(outcome)
}

/// The version of `drift --format json` (`schema_version`): raised when a
/// field changes meaning or goes away, not when one is added.
const DRIFT_SCHEMA_VERSION: u32 = 1;

pub fn restore_config(args: &RestoreConfigArgs, global: &GlobalArgs) -> Result<Outcome, Error> {
    let plan = load_plan(&args.plan)?;
    let state = state_dir(&args.plan, global.state_dir.as_deref());
    let server = select_servers(&plan, Some(&args.server), &args.plan)?[0];
    let base =
        baseline(&state, server, args.backup.as_deref())?.ok_or_else(|| Error::NoBackup {
            server: server.name.clone(),
            dir: state.join(backup::BACKUP_DIR),
        })?;
    eprintln!(
        "{}: restoring from {}: {}",
        server.name,
        base.zip.display(),
        base.describe()
    );
    let zip = base.zip;
    // One writer per plan: the journal records the restore.
    let _lock = Lock::acquire(&state, "restore-config").map_err(|source| Error::Lock {
        plan: args.plan.clone(),
        source,
    })?;
    let exec = open_audited(&plan, &state, "restore-config")?;
    let planned = backup::plan_restore(
        exec.as_ref(),
        server,
        &zip,
        &args.key,
        args.file.as_deref(),
        &backup::FetchOptions::default(),
    )
    .map_err(Error::Backup)?;
    eprint!("{}", planned.describe());
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage(
                "not applied: no terminal to confirm on; pass --yes to apply".into(),
            ));
        }
        eprint!("Apply this change? [y/N] ");
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("not applied");
            return Ok(Outcome::Done);
        }
    }
    let outcome = backup::apply_restore(exec.as_ref(), server, &planned).map_err(Error::Restore)?;
    let (mut journal, _) = Journal::open(&state)?;
    journal.append(Record::Changed {
        server: server.name.clone(),
        step: "restore-config".into(),
        change: Change::AppSettingRestored {
            file: outcome.file.clone(),
            key: args.key.clone(),
            copy: outcome.copy.clone(),
        },
    })?;
    output::stdout(&format!(
        "{}: {} restored in {} (the previous file is kept as {})\n",
        server.name, args.key, outcome.file, outcome.copy
    ))?;
    Ok(Outcome::Done)
}

/// The backup `drift` and `restore-config` compare with
/// (`backup::drift::baseline`): `given`, else the backup the rollout took
/// of `server` before its CU (the newest `config-backed-up` in the journal,
/// else in the archived journals of earlier rollouts), else the newest.
fn baseline(
    state: &Path,
    server: &Server,
    given: Option<&Path>,
) -> Result<Option<backup::Baseline>, Error> {
    let newest = backup::latest_backup(state, &server.name).map_err(Error::Backup)?;
    Ok(backup::drift::baseline::choose(
        given,
        rollout_backup(state, &server.name),
        newest,
    ))
}

/// The zip of the newest `config-backed-up` journaled for `server`: in the
/// current journal, else in archived ones (`journal-<time>.jsonl`, newest
/// first). A zip no longer where the journal says is looked for in the
/// state directory's `backups` by its name (a state directory reached by
/// another relative path). Unreadable journals count as none.
fn rollout_backup(state: &Path, server: &str) -> Option<std::path::PathBuf> {
    let mut journals = vec![Journal::path_in(state)];
    let mut archived: Vec<std::path::PathBuf> = std::fs::read_dir(state)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("journal-") && n.ends_with(".jsonl"))
        })
        .collect();
    archived.sort();
    journals.extend(archived.into_iter().rev());
    journals.iter().find_map(|path| {
        let loaded = Journal::load(path).ok()?;
        backup_in(&loaded.entries, state, server)
    })
}

/// The zip of the newest `config-backed-up` for `server` in `entries`
/// (see `rollout_backup`).
fn backup_in(
    entries: &[crate::journal::Entry],
    state: &Path,
    server: &str,
) -> Option<std::path::PathBuf> {
    entries.iter().rev().find_map(|e| match &e.record {
        Record::Changed {
            server: s,
            change: Change::ConfigBackedUp { zip, .. },
            ..
        } if s.eq_ignore_ascii_case(server) => {
            let zip = std::path::PathBuf::from(zip);
            if zip.exists() {
                return Some(zip);
            }
            let here = state.join(backup::BACKUP_DIR).join(zip.file_name()?);
            here.exists().then_some(here)
        }
        _ => None,
    })
}
