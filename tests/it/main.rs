//! Integration tests: the real `cu-roll` binary against the lab, asserting
//! on exit codes, output and the lab's world.

mod architecture;
mod build_history;
mod catalog;
mod certificates;
mod cli_output;
mod clixml;
mod crash_harness;
mod dag_config;
mod faults;
mod harness;
mod health_order;
mod hostile_server;
mod journal_history;
mod lab;
mod lab_facts;
mod long_commands;
mod media_ad;
mod plans;
mod reliability;
mod report;
mod rollout;
mod scripts;
mod security_update;
mod setup_incomplete;
mod setup_log;
mod shapes;
mod winrm;
