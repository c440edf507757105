//! What each command does, wired from the parsed command line to the
//! library: load the plan, open the transport, run, print, pick the exit
//! code. Errors become one clear message on stderr.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, ExecArgs, LabCommand, ReportArgs};
use crate::exit;
use crate::plan::{self, Plan};

mod backup;
mod catalog;
pub(crate) mod lab;
mod lab_advance;
mod rollout;
mod setup_log;

pub(crate) use lab::LabExecutor;

/// A failure that ends the command: its message and exit code.
struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    fn bad_input(message: impl Into<String>) -> Self {
        Failure {
            code: exit::BAD_INPUT,
            message: message.into(),
        }
    }
}

pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Some(Command::Report(args)) => report(&args, cli.global.state_dir.as_deref()),
        Some(Command::Exec(args)) => exec(&args, cli.global.state_dir.as_deref()),
        Some(Command::Catalog(args)) => catalog::run(&args),
        Some(Command::SetupLog(args)) => setup_log::run(&args),
        Some(Command::Lab { command }) => lab(&command, cli.global.state_dir.as_deref()),
        Some(Command::Run(args)) => rollout::run(&args.plan, args.flags, &cli.global),
        Some(Command::Status(args)) => rollout::status(&args, &cli.global),
        Some(Command::Unlock(args)) => rollout::unlock(&args, &cli.global),
        Some(Command::Backup(args)) => backup::backup(&args, &cli.global),
        Some(Command::Drift(args)) => backup::drift(&args, &cli.global),
        Some(Command::RestoreConfig(args)) => backup::restore_config(&args, &cli.global),
        None => match cli.plan {
            Some(plan) => rollout::run(&plan, cli.run_flags, &cli.global),
            None => Err(Failure::bad_input(
                "no plan given: cu-roll PLAN, or cu-roll --help",
            )),
        },
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("cu-roll: {}", f.message);
            f.code
        }
    }
}

/// The state directory: `--state-dir`, else `<plan stem>.cu-roll` beside the plan.
pub fn state_dir(plan_path: &Path, explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    let stem = plan_path
        .file_stem()
        .map_or_else(|| "plan".into(), |s| s.to_string_lossy().into_owned());
    plan_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(format!("{stem}.cu-roll"))
}

/// The plan at `path`, with its `[lab]` section (if any) read by the lab
/// crate from the same text, so a mistake anywhere in the file is reported
/// when the plan is loaded.
fn load_plan_and_lab(path: &Path) -> Result<(Plan, Option<::lab::LabSpec>), Failure> {
    let bad = |e: plan::PlanError| Failure::bad_input(e.to_string());
    let text = plan::read(path).map_err(bad)?;
    let plan = plan::parse(&text, path).map_err(bad)?;
    let spec = lab::spec_of(&plan, &text).map_err(bad)?;
    Ok((plan, spec))
}

fn load_plan(path: &Path) -> Result<Plan, Failure> {
    load_plan_and_lab(path).map(|(plan, _)| plan)
}

/// The executor for the plan's transport: the lab's, built here (the one
/// seam between the product and the lab), or a remote one from `exec`.
fn open_executor(plan: &Plan, state: &Path) -> Result<Box<dyn crate::exec::Executor>, Failure> {
    if plan.connection.transport == plan::Transport::Lab {
        let (_, spec) = load_plan_and_lab(&plan.path)?;
        let spec = spec.ok_or_else(|| {
            Failure::bad_input(format!("{} has no [lab] section", plan.path.display()))
        })?;
        return LabExecutor::open(state, &spec, &lab::dag_of(plan))
            .map(|e| Box::new(e) as Box<dyn crate::exec::Executor>)
            .map_err(|e| Failure::bad_input(e.to_string()));
    }
    crate::exec::open(plan).map_err(|e| Failure::bad_input(e.to_string()))
}

fn report(args: &ReportArgs, state_dir_arg: Option<&Path>) -> Result<i32, Failure> {
    let plan = load_plan(&args.plan)?;
    let catalog =
        crate::catalog::Catalog::active().map_err(|e| Failure::bad_input(e.to_string()))?;
    let target = crate::plan::resolve_target(&plan, catalog)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let state = state_dir(&args.plan, state_dir_arg);
    let executor = open_executor(&plan, &state)?;
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let report = crate::preflight::build_report(&plan, executor.as_ref(), catalog, &target, now);
    let format = args.format;
    let color = args.output.is_none()
        && args.format == crate::report::Format::Table
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let text = crate::report::render(&report, format, &crate::report::RenderOptions { color });
    write_output(args.output.as_deref(), &text)?;
    Ok(match report.verdict {
        crate::preflight::model::OverallVerdict::Ready => exit::DONE,
        crate::preflight::model::OverallVerdict::Blocked => exit::GATE_REFUSED,
    })
}

/// Writes to FILE (via a temporary file and rename, so a reader never sees
/// half a report) or to stdout.
fn write_output(path: Option<&Path>, text: &str) -> Result<(), Failure> {
    let Some(path) = path else {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Failure {
                code: exit::STEP_FAILED,
                message: format!("writing to stdout: {e}"),
            });
    };
    let fail =
        |e: std::io::Error| Failure::bad_input(format!("cannot write {}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

fn exec(args: &ExecArgs, state_dir_arg: Option<&Path>) -> Result<i32, Failure> {
    let plan = load_plan(&args.plan)?;
    let servers: Vec<&plan::Server> = if args.all {
        plan.servers.iter().collect()
    } else {
        let name = args.server.as_deref().unwrap_or_default();
        vec![plan.server(name).ok_or_else(|| {
            Failure::bad_input(format!(
                "server '{name}' is not in {}; servers: {}",
                args.plan.display(),
                plan.servers
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?]
    };
    let state = state_dir(&args.plan, state_dir_arg);
    let executor = open_executor(&plan, &state)?;
    let results = crate::pool::for_each_bounded(&servers, crate::pool::SERVER_FAN_OUT, |s| {
        if args.ps {
            executor.run_ps(s, &args.command)
        } else {
            executor.run_cmd(s, &args.command)
        }
    });
    let mut worst = exit::DONE;
    for (server, result) in servers.iter().zip(results) {
        match result {
            Ok(out) if args.all => {
                let line = out.stdout.lines().next().unwrap_or("").trim().to_string();
                let err = out
                    .stderr
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string();
                println!(
                    "{}\texit {}\t{}{}",
                    server.name,
                    out.exit_code,
                    line,
                    if err.is_empty() {
                        String::new()
                    } else {
                        format!("\t{err}")
                    }
                );
                if !out.success() {
                    worst = exit::STEP_FAILED;
                }
            }
            Ok(out) => {
                print!("{}", out.stdout);
                eprint!("{}", out.stderr);
                eprintln!("exit code {}", out.exit_code);
                if !out.success() {
                    worst = exit::STEP_FAILED;
                }
            }
            Err(e) => {
                eprintln!("{}: {e}", server.name);
                worst = exit::STEP_FAILED;
            }
        }
    }
    Ok(worst)
}

fn lab(command: &LabCommand, state_dir_arg: Option<&Path>) -> Result<i32, Failure> {
    let (LabCommand::Reset { plan: plan_path }
    | LabCommand::State {
        plan: plan_path, ..
    }
    | LabCommand::Serve { plan: plan_path }
    | LabCommand::Advance {
        plan: plan_path, ..
    }) = command;
    let (plan, spec) = load_plan_and_lab(plan_path)?;
    let spec = spec.ok_or_else(|| {
        Failure::bad_input(format!(
            "{} has no [lab] section: only a lab plan can be served, reset or shown",
            plan_path.display()
        ))
    })?;
    let state = state_dir(plan_path, state_dir_arg);
    let dag = lab::dag_of(&plan);
    let lab_err = |e: ::lab::LabError| Failure::bad_input(e.to_string());
    match command {
        LabCommand::Reset { .. } => {
            ::lab::Lab::reset(&state, &spec, &dag).map_err(lab_err)?;
            eprintln!(
                "lab world reset from {} (state in {})",
                plan_path.display(),
                state.display()
            );
        }
        LabCommand::Serve { .. } => {
            let scheme = match plan.connection.scheme {
                plan::Scheme::Http => ::lab::winrm::Scheme::Http,
                plan::Scheme::Https => ::lab::winrm::Scheme::Https,
            };
            let options = ::lab::winrm::ServeOptions::new(scheme);
            ::lab::winrm::serve(&spec, &dag, &state, options, &mut std::io::stdout())
                .map_err(|e| Failure::bad_input(e.to_string()))?;
        }
        LabCommand::Advance { by, .. } => lab_advance::run(&state, &spec, &dag, *by)?,
        LabCommand::State { .. } => {
            let lab = ::lab::Lab::open(&state, &spec, &dag).map_err(lab_err)?;
            let text = serde_json::to_string_pretty(&lab.state_json())
                .expect("a JSON value always serialises");
            println!("{text}");
        }
    }
    Ok(exit::DONE)
}
