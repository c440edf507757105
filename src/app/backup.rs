//! `cu-roll backup`, `backup verify`, `drift` and `restore-config`: the
//! config files a CU overwrites, saved before, compared after, and one lost
//! `appSettings` value put back on request (shown first, journaled).

use std::io::IsTerminal;
use std::path::Path;

use super::{load_plan, open_executor, state_dir, Failure};
use crate::backup::{self, DriftReport};
use crate::cli::{
    BackupArgs, BackupCommand, DriftArgs, DriftFormat, GlobalArgs, RestoreConfigArgs,
};
use crate::exit;
use crate::journal::{Change, Journal, Lock, LockError, Record};
use crate::plan::{Plan, Server};
use crate::report::run::{ConfigDrift, RevertedSetting};

fn servers<'p>(
    plan: &'p Plan,
    name: Option<&str>,
    plan_path: &Path,
) -> Result<Vec<&'p Server>, Failure> {
    match name {
        None => Ok(plan.servers.iter().collect()),
        Some(n) => plan.server(n).map(|s| vec![s]).ok_or_else(|| {
            Failure::bad_input(format!(
                "server '{n}' is not in {}; servers: {}",
                plan_path.display(),
                plan.servers
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }),
    }
}

pub fn backup(args: &BackupArgs, global: &GlobalArgs) -> Result<i32, Failure> {
    if let Some(BackupCommand::Verify { file }) = &args.command {
        return verify(file);
    }
    let plan_path = args.plan.as_deref().ok_or_else(|| {
        Failure::bad_input("cu-roll backup PLAN [--server NAME], or cu-roll backup verify FILE")
    })?;
    let plan = load_plan(plan_path)?;
    let state = state_dir(plan_path, global.state_dir.as_deref());
    let exec = open_executor(&plan, &state)?;
    let mut code = exit::DONE;
    for server in servers(&plan, args.server.as_deref(), plan_path)? {
        match backup::backup_server(exec.as_ref(), server, &state) {
            Ok(r) => {
                println!(
                    "{}\t{}\t{} files\tsha256 {}\tverified",
                    server.name,
                    r.zip.display(),
                    r.manifest.files.len(),
                    r.sha256
                );
                for w in &r.manifest.warnings {
                    eprintln!("{}: warning: {w}", server.name);
                }
            }
            Err(e) => {
                eprintln!("{}: backup failed: {e}", server.name);
                code = exit::STEP_FAILED;
            }
        }
    }
    Ok(code)
}

fn verify(file: &Path) -> Result<i32, Failure> {
    match backup::verify(file) {
        Ok(r) => {
            println!(
                "{}: {} entries verified, sha256 {}",
                file.display(),
                r.entries_checked,
                r.sha256
            );
            Ok(exit::DONE)
        }
        Err(e) => Err(Failure {
            code: exit::STEP_FAILED,
            message: format!("{}: {e}", file.display()),
        }),
    }
}

/// The drift of one server against its newest backup, for the run report.
pub fn drift_summary(
    exec: &dyn crate::exec::Executor,
    server: &Server,
    state: &Path,
) -> Option<ConfigDrift> {
    let zip = backup::latest_backup(state, &server.name).ok().flatten()?;
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

pub fn drift(args: &DriftArgs, global: &GlobalArgs) -> Result<i32, Failure> {
    let plan = load_plan(&args.plan)?;
    let state = state_dir(&args.plan, global.state_dir.as_deref());
    let exec = open_executor(&plan, &state)?;
    let mut reports = Vec::new();
    let mut code = exit::DONE;
    for server in servers(&plan, args.server.as_deref(), &args.plan)? {
        let Some(zip) = backup::latest_backup(&state, &server.name)
            .map_err(|e| Failure::bad_input(e.to_string()))?
        else {
            eprintln!(
                "{}: no backup in {} (cu-roll backup takes one)",
                server.name,
                state.join("backups").display()
            );
            continue;
        };
        match backup::drift_for_server(exec.as_ref(), server, &zip) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("{}: {e}", server.name);
                code = exit::STEP_FAILED;
            }
        }
    }
    match args.format {
        DriftFormat::Text => {
            for r in &reports {
                print!("{}", r.to_text());
            }
        }
        DriftFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&reports).expect("drift reports serialise")
            );
        }
    }
    Ok(code)
}

pub fn restore_config(args: &RestoreConfigArgs, global: &GlobalArgs) -> Result<i32, Failure> {
    let plan = load_plan(&args.plan)?;
    let state = state_dir(&args.plan, global.state_dir.as_deref());
    let server = servers(&plan, Some(&args.server), &args.plan)?[0];
    let zip = backup::latest_backup(&state, &server.name)
        .map_err(|e| Failure::bad_input(e.to_string()))?
        .ok_or_else(|| {
            Failure::bad_input(format!(
                "{} has no backup in {}",
                server.name,
                state.join("backups").display()
            ))
        })?;
    // One writer per plan: the journal records the restore.
    let _lock = Lock::acquire(&state, "restore-config").map_err(|e| match e {
        LockError::Held { .. } | LockError::Unreadable { .. } => Failure {
            code: exit::LOCKED,
            message: e.to_string(),
        },
        LockError::Io { .. } => Failure::bad_input(e.to_string()),
    })?;
    let exec = open_executor(&plan, &state)?;
    let planned = backup::plan_restore(
        exec.as_ref(),
        server,
        &zip,
        &args.key,
        args.file.as_deref(),
        &backup::FetchOptions::default(),
    )
    .map_err(|e| Failure::bad_input(e.to_string()))?;
    eprint!("{}", planned.describe());
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::bad_input(
                "not applied: pass --yes to apply without a terminal to confirm at",
            ));
        }
        eprint!("Apply this change? [y/N] ");
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("not applied");
            return Ok(exit::DONE);
        }
    }
    let outcome = backup::apply_restore(exec.as_ref(), server, &planned).map_err(|e| Failure {
        code: exit::STEP_FAILED,
        message: e.to_string(),
    })?;
    let (mut journal, _) = Journal::open(&state).map_err(|e| Failure {
        code: exit::STEP_FAILED,
        message: e.to_string(),
    })?;
    journal
        .append(Record::Changed {
            server: server.name.clone(),
            step: "restore-config".into(),
            change: Change::AppSettingRestored {
                file: outcome.file.clone(),
                key: args.key.clone(),
                copy: outcome.copy.clone(),
            },
        })
        .map_err(|e| Failure {
            code: exit::STEP_FAILED,
            message: e.to_string(),
        })?;
    println!(
        "{}: {} restored in {} (the previous file is kept as {})",
        server.name, args.key, outcome.file, outcome.copy
    );
    Ok(exit::DONE)
}
