//! Integration tests: the real `cu-roll` binary against the lab, asserting
//! on exit codes, output and the lab's world.

mod ad_after_su;
mod architecture;
mod audit;
mod bench;
mod build_history;
mod catalog;
mod certificates;
mod cli_output;
mod clixml;
mod crash_harness;
mod dag_config;
mod drift_baseline;
mod faults;
mod harness;
mod hostile_server;
mod journal_history;
mod lab;
mod lab_facts;
mod media_ad;
mod membership;
mod plans;
mod reliability;
mod report;
mod rollout;
mod scripts;
mod security_update;
mod selection;
mod setup_incomplete;
mod setup_log;
mod shapes;
mod standalone;
mod two_dag;
mod window;
mod winrm;
