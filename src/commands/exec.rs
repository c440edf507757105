//! `cu-roll exec PLAN --server NAME | --all [--ps | --exchange] COMMAND`:
//! runs one command line (or PowerShell script, or Exchange command in an
//! Exchange remote session to the server itself, the rollout's wrapper)
//! through the plan's transport, on one server (its output as it came) or
//! on all at once (one line each). Exit 1 when it failed on at least one
//! server.

use std::path::Path;

use super::{load_plan, open_audited, output, select_servers, state_dir};
use crate::cli::ExecArgs;
use crate::error::Error;
use crate::exec::{ExecError, ExecOutput};
use crate::exit::Outcome;
use crate::plan::Server;

pub fn run(args: &ExecArgs, state_dir_arg: Option<&Path>) -> Result<Outcome, Error> {
    let plan = load_plan(&args.plan)?;
    let named = if args.all {
        None
    } else {
        Some(args.server.as_deref().unwrap_or_default())
    };
    let servers = select_servers(&plan, named, &args.plan)?;
    let state = state_dir(&args.plan, state_dir_arg);
    let executor = open_audited(&plan, &state, "exec")?;
    let credential = if args.exchange {
        Some(super::exchange_credential(&plan, executor.as_ref())?)
    } else {
        None
    };
    let results = crate::pool::for_each_bounded(&servers, crate::pool::SERVER_FAN_OUT, |s| {
        if credential.is_some() && s.is_edge() {
            // An Edge server has no Exchange remote PowerShell: its
            // cmdlets run in a local Exchange shell (exchange::run).
            executor.run_ps(
                s,
                &crate::exchange::edge_shell_text_for_command(&args.command),
            )
        } else if let Some(c) = &credential {
            let script = crate::exchange::session_text_for_command(&s.fqdn, &c.user, &args.command);
            executor.run_ps_with_secret(s, &script, &c.secret)
        } else if args.ps {
            executor.run_ps(s, &args.command)
        } else {
            executor.run_cmd(s, &args.command)
        }
    });
    let mut outcome = Outcome::Done;
    for (server, result) in servers.iter().zip(results) {
        if !show(server, result, args.all)? {
            outcome = Outcome::SomeFailed;
        }
    }
    Ok(outcome)
}

/// Prints one server's result; true when the command succeeded there.
fn show(
    server: &Server,
    result: Result<ExecOutput, ExecError>,
    one_line: bool,
) -> Result<bool, Error> {
    match result {
        Ok(out) if one_line => {
            let first = out.stdout.lines().next().unwrap_or("").trim();
            let err = out
                .stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            let err = if err.is_empty() {
                String::new()
            } else {
                format!("\t{err}")
            };
            output::stdout(&format!(
                "{}\texit {}\t{first}{err}\n",
                server.name, out.exit_code
            ))?;
            Ok(out.success())
        }
        Ok(out) => {
            output::stdout(&out.stdout)?;
            eprint!("{}", out.stderr);
            eprintln!("exit code {}", out.exit_code);
            Ok(out.success())
        }
        Err(e) => {
            eprintln!("{}: {e}", server.name);
            Ok(false)
        }
    }
}
