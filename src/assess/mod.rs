//! Pure checks over observed Exchange state that pre-flight and the rollout
//! share: a server's maintenance state and copy health (`checks`), and the
//! availability gate built on them (`gate`). It sits below both: it reads
//! `exchange` observations and the plan's `Policy`, and must not import
//! `preflight` or `runbook`, observe anything itself, or write anywhere.

pub mod checks;
pub mod gate;
pub mod service;
