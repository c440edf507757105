//! `cu-roll unlock PLAN --force`: clears the owner record a run that died
//! left beside the plan's lock. It refuses while a live run holds the lock
//! (exit 4): clearing it would let a second run drive the same servers.
//! Without `--force` it only says who holds it (exit 2).

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
            lock: Box::new(Lock::state(&state).map_err(|source| Error::Lock {
                plan: args.plan.clone(),
                source,
            })?),
        });
    }
    let cleared = Lock::force_clear(&state).map_err(|source| Error::Lock {
        plan: args.plan.clone(),
        source,
    })?;
    match cleared {
        Some(h) => eprintln!(
            "cleared the lock record left by {} on {} (pid {}) since {}; that process no longer holds the lock",
            h.owner, h.host, h.pid, h.since
        ),
        None => eprintln!("there was no lock for {}", args.plan.display()),
    }
    Ok(Outcome::Done)
}
