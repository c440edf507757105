//! `cu-roll lab reset|state|serve|advance PLAN`: the simulated DAG of a lab
//! plan, reset to the plan's `[lab]` section, shown as JSON, served over
//! WinRM on loopback, or its clock moved forward. `seam` is the one door between the product and the
//! lab crate; nothing outside `commands/` names the lab.

use std::path::Path;

use super::{load_plan_and_lab, output, state_dir};
use crate::cli::LabCommand;
use crate::error::Error;
use crate::exit::Outcome;
use crate::plan;

mod advance;
mod seam;

pub use seam::{availability_incidents, spec_of, LabExecutor};

pub fn run(command: &LabCommand, state_dir_arg: Option<&Path>) -> Result<Outcome, Error> {
    let (LabCommand::Reset { plan: plan_path }
    | LabCommand::State {
        plan: plan_path, ..
    }
    | LabCommand::Serve { plan: plan_path }
    | LabCommand::Advance {
        plan: plan_path, ..
    }) = command;
    let (plan, spec) = load_plan_and_lab(plan_path)?;
    let spec = spec.ok_or_else(|| Error::NoLabSection {
        plan: plan_path.clone(),
        why: ": only a lab plan can be served, reset or shown",
    })?;
    let state = state_dir(plan_path, state_dir_arg);
    let dag = &spec.dag;
    match command {
        LabCommand::Reset { .. } => {
            ::lab::Lab::reset(&state, &spec, dag)?;
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
            ::lab::winrm::serve(&spec, dag, &state, options, &mut std::io::stdout())?;
        }
        LabCommand::Advance { by, .. } => advance::run(&state, &spec, dag, *by)?,
        LabCommand::State { .. } => {
            let lab = ::lab::Lab::open(&state, &spec, dag)?;
            let mut text = serde_json::to_string_pretty(&lab.state_json())
                .expect("a JSON value always serialises");
            text.push('\n');
            output::stdout(&text)?;
        }
    }
    Ok(Outcome::Done)
}
