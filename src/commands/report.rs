//! `cu-roll report PLAN`: the pre-flight report (read-only) as a table,
//! Markdown, HTML or JSON, to stdout or `--output FILE`. Exit 3 when a
//! server (or AD preparation) blocks the rollout.

use std::io::IsTerminal;
use std::path::Path;

use super::{load_plan, open_audited, output, state_dir};
use crate::cli::ReportArgs;
use crate::error::Error;
use crate::exit::Outcome;
use crate::preflight::model::OverallVerdict;

pub fn run(args: &ReportArgs, state_dir_arg: Option<&Path>) -> Result<Outcome, Error> {
    let plan = load_plan(&args.plan)?;
    let catalog = crate::catalog::Catalog::active()?;
    let target = crate::plan::resolve_target(&plan, catalog)?;
    let state = state_dir(&args.plan, state_dir_arg);
    for note in super::journal_note::notes(&state) {
        eprintln!("{note}");
    }
    let executor = open_audited(&plan, &state, "report")?;
    let credential = super::exchange_credential(&plan, executor.as_ref())?;
    let (report, observed) = crate::preflight::build_report_observing(
        &plan,
        executor.as_ref(),
        &credential,
        catalog,
        &target,
        super::now_rfc3339(),
    );
    // A refused account: one message, not one per server (lockout).
    if let Some(refusal) = executor.refusal() {
        return Err(Error::AuthRefused(refusal));
    }
    let color = args.output.is_none()
        && args.format == crate::report::Format::Table
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let text = if args.format == crate::report::Format::Html {
        // The change board's "what will happen": the dry run reads the order.
        let steps = crate::runbook::rollout_steps(&state);
        let dry = crate::runbook::dry_run::plan(
            &crate::runbook::dry_run::Inputs {
                plan: &plan,
                target: &target,
                exec: executor.as_ref(),
                credential: &credential,
                steps: &steps,
                selection: &crate::plan::Selection::all(),
                observed: Some(&observed),
            },
            &crate::runbook::JournalState::from_entries(
                &crate::journal::Journal::load(&crate::journal::Journal::path_in(&state))
                    .map(|l| l.entries)
                    .unwrap_or_default(),
            ),
        );
        let what = crate::report::WhatWillHappen::of(&plan, &report, &dry);
        crate::report::render_html(&report, &what)
    } else {
        crate::report::render(
            &report,
            args.format,
            &crate::report::RenderOptions { color },
        )
    };
    output::write_output(args.output.as_deref(), &text)?;
    Ok(match report.verdict {
        OverallVerdict::Ready => Outcome::Done,
        OverallVerdict::Blocked => Outcome::Blocked,
    })
}
