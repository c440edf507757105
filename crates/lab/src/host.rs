//! `ServerHost`: the commands a script running ON one lab server can call —
//! Windows (registry, files, CIM, services), the Exchange snap-in, the
//! FailoverClusters and ActiveDirectory modules, and Microsoft's DAG
//! scripts. It binds every call through `pwsh::bind` so misspellings fail
//! as PowerShell fails, and leaves the language itself to the interpreter.

use super::cmdlets;
use super::pwsh::host::{Argument, CommandHost, PsError};
use super::pwsh::value::Value;
use super::world::World;

pub struct ServerHost<'a> {
    pub(crate) world: &'a mut World,
    /// Index of the server the script runs on.
    pub(crate) server: usize,
    pub(crate) now_ms: i64,
    /// `Add-PSSnapin Microsoft.Exchange.Management.PowerShell.SnapIn` ran.
    pub(crate) exchange_snapin: bool,
    pub(crate) errors: Vec<PsError>,
    /// `Restart-Computer` ran: the server reboots once the script has ended.
    pub(crate) reboot_requested: bool,
    /// How the script's process logged on (`remoting/logon.rs`).
    pub(crate) logon: super::remoting::Logon,
    /// The PSSessions the script opened and the proxies it imported.
    pub(crate) remoting: super::remoting::State,
    /// Time the script's slow commands took (a transport restart): charged
    /// against `budget_ms`, not the lab's clock.
    pub(crate) spent_ms: i64,
    /// The caller's deadline for the whole script (the transport's command
    /// timeout), `None` for none.
    pub(crate) budget_ms: Option<i64>,
    /// The script ran past `budget_ms`: the transport killed its process,
    /// so no further command runs.
    pub(crate) killed: bool,
    /// The process set `[System.Net.ServicePointManager]::ServerCertificateValidationCallback`
    /// (`cmdlets/web.rs`: the lab's https name check).
    pub(crate) certificate_callback: bool,
    /// The domain controller the Exchange session running this host's
    /// cmdlets is bound to (`directory.rs`); `None` outside a session.
    pub(crate) dc: Option<usize>,
}

/// Why a host could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the lab has no server named '{0}': use one of the plan's [[lab.server]] names")]
pub struct UnknownServer(pub String);

impl<'a> ServerHost<'a> {
    /// A host for scripts running on `server` at wall time `now_ms`. The
    /// world should already be settled to `now_ms`.
    pub fn new(
        world: &'a mut World,
        server: &str,
        now_ms: i64,
    ) -> Result<ServerHost<'a>, UnknownServer> {
        let index = world
            .server_index(server)
            .ok_or_else(|| UnknownServer(server.to_string()))?;
        Ok(ServerHost {
            world,
            server: index,
            now_ms,
            exchange_snapin: false,
            errors: Vec::new(),
            reboot_requested: false,
            logon: super::remoting::Logon::default(),
            remoting: super::remoting::State::default(),
            spent_ms: 0,
            budget_ms: None,
            killed: false,
            certificate_callback: false,
            dc: None,
        })
    }

    /// A command takes `ms` of the script's time. False when that runs
    /// past the script's budget: the process is killed at the deadline
    /// (the caller decides what the command had done by then).
    pub(crate) fn spend(&mut self, ms: i64) -> bool {
        self.spent_ms = self.spent_ms.saturating_add(ms.max(0));
        match self.budget_ms {
            Some(budget) if self.spent_ms > budget => {
                self.spent_ms = budget;
                self.killed = true;
                false
            }
            _ => true,
        }
    }

    /// What is left of the budget, for a nested host (an Exchange session
    /// runs its command on the peer in a host of its own).
    pub(crate) fn remaining_budget(&self) -> Option<i64> {
        self.budget_ms.map(|b| (b - self.spent_ms).max(0))
    }

    /// This host as Exchange's `/PowerShell` endpoint runs a cmdlet (AD
    /// reachable): for tests that call the lab's Exchange cmdlets directly
    /// to look at their objects, not at how a script logged on.
    pub fn as_exchange_endpoint(mut self) -> Self {
        self.logon = super::remoting::Logon::ExchangeEndpoint;
        self
    }

    /// The whole world, for tests that change it behind the scripts' back
    /// (an admin's hand edit, a CU reverting a customisation).
    pub fn world_mut(&mut self) -> &mut World {
        self.world
    }

    pub(crate) fn this(&self) -> &super::model::Server {
        &self.world.servers[self.server]
    }

    pub(crate) fn this_mut(&mut self) -> &mut super::model::Server {
        &mut self.world.servers[self.server]
    }

    /// Records a non-terminating error (Write-Error).
    pub(crate) fn write_error(&mut self, e: PsError) {
        self.errors.push(e);
    }
}

/// What a command meets once the transport killed the script's process
/// (nothing more runs: the caller sees a timeout, not this text).
fn pipeline_stopped(name: &str) -> PsError {
    PsError::new(
        super::pwsh::host::ErrorCategory::OperationStopped,
        "PipelineStoppedException",
        "The pipeline has been stopped.",
    )
    .in_command(name)
    .terminating()
}

impl CommandHost for ServerHost<'_> {
    fn invoke(
        &mut self,
        name: &str,
        args: &[Argument],
        input: Vec<Value>,
    ) -> Result<Vec<Value>, PsError> {
        if self.killed {
            return Err(pipeline_stopped(name));
        }
        let result = cmdlets::dispatch(self, name, args, input);
        // Cheap, and catches every change a command made.
        self.world.check_availability();
        result
    }

    fn read_file_bytes(&mut self, path: &str) -> Result<Vec<u8>, String> {
        cmdlets::read_file_bytes(self, path)
    }

    fn write_file_bytes(&mut self, path: &str, bytes: &[u8]) -> Result<(), String> {
        cmdlets::write_file_bytes(self, path, bytes)
    }

    fn register_task(&mut self, task: &crate::pwsh::host::TaskRegistration) -> Result<(), String> {
        let r = cmdlets::register_definition(self, task);
        self.world.check_availability();
        r
    }

    fn log_script_block(&mut self, text: &str) {
        let now = self.now_ms;
        self.this_mut().powershell_log.script_block(now, text);
    }

    fn log_invocation(&mut self, name: &str, args: &[Argument], input: &[Value]) {
        let now = self.now_ms;
        self.this_mut()
            .powershell_log
            .invocation(now, name, args, input);
    }

    fn take_non_terminating(&mut self) -> Vec<PsError> {
        std::mem::take(&mut self.errors)
    }

    fn set_certificate_callback(&mut self, set: bool) {
        self.certificate_callback = set;
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.world.env_var(self.server, name)
    }

    /// The world's clock (settled to the wall clock before the script).
    fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// `Start-Sleep`: the wait is charged against the command's deadline
    /// and the world runs on meanwhile (a scheduled task started before
    /// may end, a move complete), so a script that polls something slow
    /// sees it progress. The lab's clock may then run ahead of the wall
    /// clock; later calls wait for the wall clock to catch up
    /// (`Lab::now_for`).
    fn sleep_ms(&mut self, ms: u64) {
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        if !self.spend(ms) {
            return;
        }
        self.now_ms = self.now_ms.saturating_add(ms);
        self.world.settle(self.now_ms);
    }
}
