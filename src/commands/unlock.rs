//! `cu-roll unlock PLAN --force`: clears the plan's lock left by a run that
//! died. Without `--force` it only says who holds it (exit 2).

use super::{load_plan, state_dir};
use crate::cli::{GlobalArgs, UnlockArgs};
use crate::error::Error;
use crate::exit::Outcome;
use crate::journal::Lock;

pub fn run(args: &UnlockArgs, global: &GlobalArgs) -> Result<Outcome, Error> {
    load_plan(&args.plan)?;
    let state = state_dir(&args.plan, global.state_dir.as_deref());
    if !args.force {
        return Err(Error::UnlockNeedsForce {
            plan: args.plan.clone(),
            holder: Lock::holder(&state).map(Box::new),
        });
    }
    let cleared = Lock::force_clear(&state).map_err(|source| Error::Lock {
        plan: args.plan.clone(),
        source,
    })?;
    match cleared {
        Some(h) => eprintln!(
            "cleared the lock held by {} on {} (pid {}) since {}",
            h.owner, h.host, h.pid, h.since
        ),
        None => eprintln!("there was no lock for {}", args.plan.display()),
    }
    Ok(Outcome::Done)
}
