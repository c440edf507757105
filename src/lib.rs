//! cu-roll: rolls Exchange Server Cumulative Updates across the members of a
//! Database Availability Group without taking a mailbox database offline.

pub mod catalog;
pub mod lab;
pub mod plan;
pub mod preflight;
pub mod report;
