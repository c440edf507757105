//! Test-only: the template texts under the names `lab::tests_roll` used
//! when they lived here, until those tests name `exchange::act::templates`
//! and `exchange::observe::templates` themselves. Nothing else may use it.

use crate::exchange::act::templates as act;
use crate::exchange::observe::templates as observe;

pub const BOOT_STATE: &str = observe::BOOT_STATE.text;
pub const HEALTH_TESTS: &str = observe::HEALTH_TESTS.text;
pub const CMD_SETUP_PROCESS: &str = observe::CMD_EXSETUP_PROCESS;
pub const CMD_TASK_STATUS: &str = observe::CMD_TASK_STATUS;
pub const CMD_SETUP_LOG: &str = observe::CMD_SETUP_LOG;

pub const DRAIN_HUB_TRANSPORT: &str = act::DRAIN_HUB_TRANSPORT.text;
pub const REDIRECT_MESSAGES: &str = act::REDIRECT_MESSAGES.text;
pub const SUSPEND_CLUSTER_NODE: &str = act::SUSPEND_CLUSTER_NODE.text;
pub const MOVE_NOW_ON: &str = act::MOVE_NOW_ON.text;
pub const BLOCK_ACTIVATION: &str = act::BLOCK_ACTIVATION.text;
pub const MOVE_ACTIVE_DATABASES: &str = act::MOVE_ACTIVE_DATABASES.text;
pub const SERVER_WIDE_OFFLINE: &str = act::SERVER_WIDE_OFFLINE.text;
pub const RESTART_COMPUTER: &str = act::RESTART_COMPUTER.text;
pub const START_SETUP_TASK: &str = act::START_TASK_AS_USER.text;
pub const REMOVE_TASK: &str = act::REMOVE_TASK.text;
pub const SERVER_WIDE_ONLINE: &str = act::SERVER_WIDE_ONLINE.text;
pub const RESUME_CLUSTER_NODE: &str = act::RESUME_CLUSTER_NODE.text;
pub const SET_ACTIVATION_POLICY: &str = act::SET_ACTIVATION_POLICY.text;
pub const MOVE_NOW_OFF: &str = act::MOVE_NOW_OFF.text;
pub const HUB_TRANSPORT_ACTIVE: &str = act::HUB_TRANSPORT_ACTIVE.text;
pub const REDISTRIBUTE: &str = act::REDISTRIBUTE.text;
