//! A long-lived powershell.exe on a lab server: `powershell.exe -Command -`
//! reads commands from its standard input one after another and runs each
//! in the same process (Microsoft Learn, about_PowerShell_exe: "If the
//! value of Command is '-', the command text is read from standard
//! input"), so variables, PSSessions and imported commands outlive the
//! command that made them, as in an interactive console. The process pays
//! `[lab.timings] powershell_start` once, when it starts; each command
//! pays the Exchange sessions it opens. Each command runs under the
//! world's lock like any script; between commands the process holds no
//! lock. The per-call entry points (`run_ps`, `run_cmd`: a process per
//! call) are here too. It must not know any client's protocol: a command
//! is text.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::super::costs;
use super::super::host::ServerHost;
use super::super::pwsh::{self, ScriptOutput};
use super::super::remoting;
use super::super::world::World;
use super::run::enter;
use super::{run_cmd_in, Lab, LabError};

/// One running powershell.exe and what it keeps between commands.
#[derive(Debug)]
pub struct PsProcess {
    server: String,
    session: pwsh::Session,
    remoting: remoting::State,
    /// Sessions counted so far (the remoting state counts every one opened).
    sessions_paid: usize,
    /// `Import-PSSession` runs counted and paid so far.
    imports_paid: usize,
    /// The server's boot the process started in: a restart ends it.
    boot_ms: i64,
    pid: u32,
    /// A command ran `Restart-Computer`: the server restarts once the
    /// input that arrived with it has been run (`Lab::end_batch`).
    reboot_pending: bool,
    /// A command ran since the last batch ended (the batch is one call).
    ran_in_batch: bool,
    /// False once the process is gone (dropped): `Live` forgets it.
    alive: Arc<AtomicBool>,
}

impl Drop for PsProcess {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::SeqCst);
    }
}

/// The processes running on the lab's servers, idle ones included: setup's
/// prerequisite analysis sees every powershell.exe on its server, not only
/// one busy with a command (rule ProcessNeedsToBeClosedOnUpgrade; the lab
/// notes them whenever anything runs on that server, which setup's
/// polling does).
#[derive(Debug, Default)]
pub(crate) struct Live {
    processes: Mutex<Vec<LiveProcess>>,
}

/// One entry of `Live`: a process, its server, the boot it started in.
#[derive(Debug)]
struct LiveProcess {
    server: String,
    pid: u32,
    boot_ms: i64,
    alive: Arc<AtomicBool>,
}

impl Live {
    fn add(&self, server: &str, pid: u32, boot_ms: i64, alive: Arc<AtomicBool>) {
        self.lock().push(LiveProcess {
            server: server.to_string(),
            pid,
            boot_ms,
            alive,
        });
    }

    /// Notes each live process on `server` as a running powershell.exe.
    /// A process its server's restart ended is gone, even when nobody
    /// asked its shell since (its entry is dropped here).
    pub(crate) fn show(&self, world: &mut World, server: &str) {
        let mut live = self.lock();
        let Some(i) = world.server_index(server) else {
            return;
        };
        let s = &world.servers[i];
        let (name, boot, up) = (s.name.clone(), s.last_boot_ms, s.down_until_ms.is_none());
        live.retain(|p| {
            p.alive.load(Ordering::SeqCst)
                && !(p.server.eq_ignore_ascii_case(&name) && (!up || p.boot_ms != boot))
        });
        for p in live.iter().filter(|p| p.server.eq_ignore_ascii_case(&name)) {
            world.note_powershell(i, p.pid);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<LiveProcess>> {
        self.processes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PsProcess {
    /// Whether a command ran `exit`: the process has ended.
    pub fn exited(&self) -> bool {
        self.session.exited
    }
}

/// Per-call processes: each call is a powershell.exe (or cmd.exe) of
/// its own.
impl Lab {
    /// Runs a PowerShell script on `server` as `powershell.exe -NonInteractive` would.
    pub fn run_ps(&self, server: &str, script: &str) -> Result<ScriptOutput, LabError> {
        self.run_ps_paid(server, script, "", None)
    }

    /// `run_ps` for a process whose standard input held `stdin` (what
    /// `[Console]::In` reads).
    pub fn run_ps_with_stdin(
        &self,
        server: &str,
        script: &str,
        stdin: &str,
    ) -> Result<ScriptOutput, LabError> {
        self.run_ps_paid(server, script, stdin, None)
    }

    /// `run_ps_with_stdin` killed once its commands have taken more than
    /// `budget_ms` (`None`: no deadline): what a transport's command
    /// timeout does to a slow script. The time is charged against the
    /// budget only; the lab's clock does not move for it.
    pub fn run_ps_within(
        &self,
        server: &str,
        script: &str,
        stdin: &str,
        budget_ms: Option<i64>,
    ) -> Result<ScriptOutput, LabError> {
        self.run_ps_paid(server, script, stdin, budget_ms)
    }

    /// Runs a cmd.exe command line on `server` (see `run_cmd_in`).
    pub fn run_cmd(&self, server: &str, command: &str) -> Result<ScriptOutput, LabError> {
        self.run_cmd_within(server, command, None)
    }

    /// `run_cmd` stopped once sending its output back (`[lab.timings]
    /// output_per_mb`) takes more than `budget_ms`: what a transport's
    /// command timeout does to a command with a long output.
    pub fn run_cmd_within(
        &self,
        server: &str,
        command: &str,
        budget_ms: Option<i64>,
    ) -> Result<ScriptOutput, LabError> {
        self.pay_start(false);
        self.counters.call();
        self.with_world(|world, now| {
            let out = run_cmd_in(world, server, command, now)?;
            self.live.show(world, server);
            let cost = world.timings.output_ms(out.stdout.len() + out.stderr.len());
            match budget_ms {
                Some(budget) if cost > budget => Err(LabError::TimedOut {
                    server: server.to_string(),
                    after_ms: budget,
                }),
                _ => Ok(out),
            }
        })
    }
}

impl Lab {
    /// Whether a `command-hangs` fault holds at the lab's time now (its
    /// clock moved by `lab advance` too): `lab serve` withholds answers
    /// meanwhile. The world is not settled or saved for this.
    pub fn answers_held(&self) -> bool {
        let worlds = self.lock();
        let world = &worlds.live;
        // The clock file is read only while such a hold was started.
        world
            .answers_held_until()
            .is_some_and(|until| self.now_for(world).is_ok_and(|now| now < until))
    }

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
        let alive = Arc::new(AtomicBool::new(true));
        self.live.add(&name, pid, boot_ms, alive.clone());
        Ok(PsProcess {
            alive,
            reboot_pending: false,
            ran_in_batch: false,
            server: name,
            session: pwsh::Session::default(),
            remoting: remoting::State::default(),
            sessions_paid: 0,
            imports_paid: 0,
            boot_ms,
            pid,
        })
    }

    /// The input that arrived together has been run: a restart a command
    /// asked for starts now (the process had gone on to its next line,
    /// as powershell.exe does while Windows shuts down).
    /// The batch counts as one call.
    pub fn end_batch(&self, process: &mut PsProcess) -> Result<(), LabError> {
        if std::mem::take(&mut process.ran_in_batch) {
            self.counters.call();
        }
        if !std::mem::take(&mut process.reboot_pending) {
            return Ok(());
        }
        self.with_world(|world, now| {
            world.settle(now);
            if let Some(i) = world.server_index(&process.server) {
                world.begin_reboot(i);
            }
            world.check_availability();
            Ok(())
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
        // Parsed before the world is locked: other servers' calls go on meanwhile.
        self.run_prepared_in_process(process, pwsh::prepare(command), stdin)
    }

    /// `run_in_process` for a command `pwsh::prepare` has parsed (the
    /// process reading stdin parses each line once, to know whether it is
    /// complete, and runs that parse).
    pub fn run_prepared_in_process(
        &self,
        process: &mut PsProcess,
        prepared: pwsh::Prepared,
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
            // Setup's process check sees the process when a request
            // reaches it, as a per-call powershell.exe is seen when it
            // starts (and, idle, whenever anything else runs: `Live`).
            if !process.ran_in_batch {
                world.note_powershell(i, process.pid);
            }
            let name = world.servers[i].name.clone();
            let mut host =
                ServerHost::new(world, &name, now).map_err(|e| LabError::UnknownServer(e.0))?;
            host.remoting = std::mem::take(&mut process.remoting);
            let out = pwsh::run_prepared(prepared, stdin, &mut process.session, &mut host);
            process.reboot_pending |= host.reboot_requested;
            process.remoting = std::mem::take(&mut host.remoting);
            Ok(Some(out))
        })?;
        // The process's remoting state counts from its start: what this
        // command added is what is new since the last one.
        let (sessions, imports) = (process.remoting.opened(), process.remoting.imports());
        self.opened(
            sessions.saturating_sub(process.sessions_paid),
            imports.saturating_sub(process.imports_paid),
        );
        process.sessions_paid = sessions;
        process.imports_paid = imports;
        process.ran_in_batch |= result.is_some();
        Ok(result)
    }
}
