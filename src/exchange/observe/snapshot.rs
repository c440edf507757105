//! The pre-flight's reading of every plan server's Exchange state, kept so
//! the start of a run (the order, the plan view) does not read every
//! server again right after it (issue 13: "the run starts from the
//! pre-flight's observation"). Freshness rule: the reading serves only
//! while younger than [`StartObservation::FRESH`], counted from when the
//! pre-flight began reading; an older one is read again. It decides only
//! the order servers go in: every server's gate observes its DAG again
//! before the server leaves service. Nothing here reads or decides.

use std::time::{Duration, Instant};

use crate::exchange::ExchangeState;

/// Every plan server's state as the pre-flight read it, in plan order.
#[derive(Debug, Clone)]
pub struct StartObservation {
    taken: Instant,
    /// Each server's state (`None`: it could not be read, or runs setup).
    pub states: Vec<(String, Option<ExchangeState>)>,
    /// The servers running Exchange setup (given no PowerShell).
    pub busy: Vec<String>,
}

impl StartObservation {
    /// How long the reading stands in for a new one: the pre-flight and the
    /// start of the run are one command, seconds apart; five minutes leave
    /// room for a slow pre-flight of many servers and nothing more.
    pub const FRESH: Duration = Duration::from_secs(5 * 60);

    /// A reading begun at `taken`.
    pub fn new(
        taken: Instant,
        states: Vec<(String, Option<ExchangeState>)>,
        busy: Vec<String>,
    ) -> Self {
        StartObservation {
            taken,
            states,
            busy,
        }
    }

    /// `self`, when still fresh (the freshness rule above).
    pub fn fresh(&self) -> Option<&Self> {
        (self.taken.elapsed() < Self::FRESH).then_some(self)
    }
}
