//! `cu-roll status PLAN`: what the journal says about the rollout, and who
//! holds the lock, as text or JSON. Reads only; always exit 0 once the
//! journal could be read.

use super::{load_plan, output, state_dir};
use crate::cli::{GlobalArgs, StatusArgs};
use crate::error::Error;
use crate::exit::Outcome;
use crate::journal::{Journal, Lock};

pub fn run(args: &StatusArgs, global: &GlobalArgs) -> Result<Outcome, Error> {
    let plan = load_plan(&args.plan)?;
    let state = state_dir(&args.plan, global.state_dir.as_deref());
    let loaded = Journal::load(&Journal::path_in(&state)).map_err(Error::ReadJournal)?;
    if let Some(torn) = &loaded.torn_tail {
        eprintln!("cu-roll: warning: {torn}");
    }
    let holder = Lock::holder(&state);
    let status = crate::report::status::compute(&loaded.entries, &plan.servers, holder.as_ref());
    output::stdout(&crate::report::status::render(
        &status,
        &plan.path,
        args.format,
    ))?;
    Ok(Outcome::Done)
}
