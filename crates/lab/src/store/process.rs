//! A long-lived powershell.exe on a lab server: `powershell.exe -Command -`
//! reads commands from its standard input one after another and runs each
//! in the same process (Microsoft Learn, about_PowerShell_exe: "If the
//! value of Command is '-', the command text is read from standard
//! input"), so variables, PSSessions and imported commands outlive the
//! command that made them, as in an interactive console. The process pays
//! `[lab.timings] powershell_start` once, when it starts; each command
//! pays the Exchange sessions it opens. Each command runs under the
//! world's lock like any script; between commands the process holds no
//! lock. It must not know any client's protocol: a command is text.

use super::super::costs;
use super::super::host::ServerHost;
use super::super::pwsh::{self, ScriptOutput};
use super::super::remoting;
use super::{enter, Lab, LabError};

/// One running powershell.exe and what it keeps between commands.
#[derive(Debug)]
pub struct PsProcess {
    server: String,
    session: pwsh::Session,
    remoting: remoting::State,
    /// Sessions counted so far (the remoting state counts every one opened).
    sessions_paid: usize,
    /// The server's boot the process started in: a restart ends it.
    boot_ms: i64,
    pid: u32,
}

impl PsProcess {
    /// Whether a command ran `exit`: the process has ended.
    pub fn exited(&self) -> bool {
        self.session.exited
    }
}

impl Lab {
    /// When `server` last booted, or `None` while it is down (or unknown):
    /// what a WinRM shell and the processes in it live until (a restart
    /// ends them). The world is not settled for this.
    pub fn boot_of(&self, server: &str) -> Option<i64> {
        let worlds = self.lock();
        let world = &worlds.live;
        let s = &world.servers[world.server_index(server)?];
        s.down_until_ms.is_none().then_some(s.last_boot_ms)
    }

    /// Starts powershell.exe on `server` (paying `powershell_start` and
    /// counting the start); `LabError::Unreachable` while it is down.
    pub fn start_process(&self, server: &str) -> Result<PsProcess, LabError> {
        self.pay_start(true);
        let (name, boot_ms, pid) = self.with_world(|world, now| {
            let i = enter(world, server, now)?;
            world.next_pid += 4;
            let s = &world.servers[i];
            Ok((s.name.clone(), s.last_boot_ms, world.next_pid))
        })?;
        self.counters.start();
        Ok(PsProcess {
            server: name,
            session: pwsh::Session::default(),
            remoting: remoting::State::default(),
            sessions_paid: 0,
            boot_ms,
            pid,
        })
    }

    /// Runs one command in `process`; `stdin` is what the process's
    /// standard input holds after the command's line, and loses what the
    /// command reads. `None` when the process is gone: its server
    /// restarted since it started (nothing ran).
    pub fn run_in_process(
        &self,
        process: &mut PsProcess,
        command: &str,
        stdin: &mut String,
    ) -> Result<Option<ScriptOutput>, LabError> {
        if self.latency_per_call {
            costs::pay(self.costs.call_latency_ms);
        }
        let result = self.with_world(|world, now| {
            let i = enter(world, &process.server, now)?;
            if world.servers[i].last_boot_ms != process.boot_ms {
                return Ok(None);
            }
            // Setup's process check sees the process whenever it runs
            // something (UNVERIFIED: a real idle powershell.exe is seen
            // too; see docs/winrm.md, "The PowerShell host").
            world.note_powershell(i, process.pid);
            let name = world.servers[i].name.clone();
            let mut host =
                ServerHost::new(world, &name, now).map_err(|e| LabError::UnknownServer(e.0))?;
            host.remoting = std::mem::take(&mut process.remoting);
            let out = pwsh::run_in_session(command, stdin, &mut process.session, &mut host);
            let reboot = host.reboot_requested;
            process.remoting = std::mem::take(&mut host.remoting);
            if reboot {
                world.begin_reboot(i);
            }
            world.check_availability();
            Ok(Some(out))
        })?;
        let opened = process.remoting.opened();
        let new = opened.saturating_sub(process.sessions_paid);
        process.sessions_paid = opened;
        if result.is_some() {
            self.counters.call(new);
        }
        costs::pay(
            self.costs
                .exchange_session_ms
                .saturating_mul(i64::try_from(new).unwrap_or(i64::MAX)),
        );
        Ok(result)
    }
}
