//! Scheduled tasks and the batch files they run, world side: starting a
//! task runs its action; a `.cmd`/`.bat` action is interpreted line by line
//! (`@echo off`, `rem`, a program line, `echo … > file`, `exit /b`), the
//! program line starting an installer that takes time (`setup.rs`) and the
//! rest of the batch running when it ends. Also the machine's environment
//! variables and its process list (for tasklist).

use super::batch::{self, ProcessRow};
use super::model::{BatchRun, ScheduledTask};
use super::world::World;

/// `LastTaskResult` while the task runs (SCHED_S_TASK_RUNNING, 0x41301).
pub const TASK_RUNNING: u32 = 0x41301;
/// `LastTaskResult` before the first run (SCHED_S_TASK_HAS_NOT_RUN, 0x41303).
pub const TASK_HAS_NOT_RUN: u32 = 0x41303;
/// `LastTaskResult` when the action's file is missing (0x80070002).
const FILE_NOT_FOUND: u32 = 0x8007_0002;
/// cmd's exit code for a command it cannot find.
const NOT_RECOGNIZED: i32 = 9009;

impl World {
    /// `$env:X` / `%X%` on server `i`.
    pub fn env_var(&self, i: usize, name: &str) -> Option<String> {
        let s = &self.servers[i];
        let v = match name.to_ascii_lowercase().as_str() {
            "computername" => s.name.to_ascii_uppercase(),
            "systemdrive" => "C:".to_string(),
            "systemroot" | "windir" => r"C:\Windows".to_string(),
            "exchangeinstallpath" => s.install_path.clone(),
            "userdomain" => self
                .ad
                .domain_dn
                .split(',')
                .next()?
                .trim_start_matches("DC=")
                .to_ascii_uppercase(),
            "userdnsdomain" => s.fqdn.split_once('.')?.1.to_ascii_uppercase(),
            "username" => "Administrator".to_string(),
            "temp" | "tmp" => r"C:\Windows\TEMP".to_string(),
            "programfiles" => r"C:\Program Files".to_string(),
            "comspec" => r"C:\Windows\system32\cmd.exe".to_string(),
            "path" => format!(
                r"C:\Windows\system32;C:\Windows;C:\Windows\System32\WindowsPowerShell\v1.0\;{}bin",
                s.install_path
            ),
            "psmodulepath" => r"C:\Program Files\WindowsPowerShell\Modules;C:\Windows\system32\WindowsPowerShell\v1.0\Modules".to_string(),
            _ => return None,
        };
        Some(v)
    }

    /// The task named `name` on server `i`.
    pub fn task(&self, i: usize, name: &str) -> Option<&ScheduledTask> {
        self.servers[i]
            .tasks
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// Runs task `name`'s action (`Start-ScheduledTask`). A task already
    /// running is left alone (the default MultipleInstances IgnoreNew).
    /// Returns false when there is no such task.
    pub fn start_task(&mut self, i: usize, name: &str) -> bool {
        let now = self.now_ms;
        let Some(t) = self.servers[i]
            .tasks
            .iter_mut()
            .find(|t| t.name.eq_ignore_ascii_case(name))
        else {
            return false;
        };
        if t.running {
            return true;
        }
        let (task_name, execute, arguments) =
            (t.name.clone(), t.execute.clone(), t.arguments.clone());
        t.last_run_ms = Some(now);
        let lower = execute.to_ascii_lowercase();
        let lines = if lower.ends_with(".cmd") || lower.ends_with(".bat") {
            match self.file(i, &execute) {
                Some(f) => f.content.lines().map(str::to_string).collect(),
                None => {
                    if let Some(t) = self.servers[i]
                        .tasks
                        .iter_mut()
                        .find(|t| t.name == task_name)
                    {
                        t.last_result = FILE_NOT_FOUND;
                    }
                    return true;
                }
            }
        } else {
            vec![format!("\"{execute}\" {}", arguments.unwrap_or_default())]
        };
        if let Some(t) = self.servers[i]
            .tasks
            .iter_mut()
            .find(|t| t.name == task_name)
        {
            t.running = true;
            t.last_result = TASK_RUNNING;
        }
        self.servers[i].batch = Some(BatchRun {
            task: Some(task_name),
            lines,
            errorlevel: 0,
            program: None,
        });
        self.run_batch(i);
        true
    }

    /// Runs batch lines until one starts a program (which ends later) or
    /// the batch ends (the task then records the last errorlevel).
    fn run_batch(&mut self, i: usize) {
        let now = self.now_ms;
        loop {
            let Some(b) = self.servers[i].batch.as_mut() else {
                return;
            };
            if b.lines.is_empty() {
                let done = self.servers[i].batch.take();
                if let Some(done) = done {
                    let task = done.task.clone();
                    if let Some(t) = task.and_then(|n| {
                        self.servers[i]
                            .tasks
                            .iter_mut()
                            .find(|t| t.name.eq_ignore_ascii_case(&n))
                    }) {
                        t.running = false;
                        t.last_result = u32::try_from(done.errorlevel).unwrap_or(1);
                    }
                }
                return;
            }
            let raw = b.lines.remove(0);
            let errorlevel = b.errorlevel;
            let line = raw.trim().trim_start_matches('@').trim_start();
            let lower = line.to_ascii_lowercase();
            if line.is_empty()
                || lower == "echo off"
                || lower == "echo on"
                || lower.starts_with("rem ")
                || lower == "rem"
                || lower.starts_with("::")
            {
                continue;
            }
            let expanded = batch::expand(line, &|name| {
                if name.eq_ignore_ascii_case("ERRORLEVEL") {
                    Some(errorlevel.to_string())
                } else {
                    self.env_var(i, name)
                }
            });
            let cmd = batch::split(&expanded);
            let lcmd = cmd.command.trim().to_ascii_lowercase();
            if lcmd == "exit" || lcmd.starts_with("exit ") {
                let code = lcmd
                    .split_whitespace()
                    .find_map(|w| w.parse::<i32>().ok())
                    .unwrap_or(errorlevel);
                if let Some(b) = self.servers[i].batch.as_mut() {
                    b.lines.clear();
                    b.errorlevel = code;
                }
                continue;
            }
            if let Some(text) = batch::echo_output(&cmd.command) {
                self.redirect_output(i, &cmd.redirects, &text, now);
                continue;
            }
            let (prog, args) = batch::program_and_args(&cmd.command);
            let stdout_to = cmd
                .redirects
                .iter()
                .find(|r| r.handle == 1)
                .map(|r| r.path.clone());
            if let Some((code, spent)) = self.run_powershell_action(i, &prog, &args, &cmd.redirects)
            {
                if let Some(b) = self.servers[i].batch.as_mut() {
                    b.errorlevel = code;
                    if spent > 0 {
                        // Its work takes time: the task runs on until then.
                        b.program = Some(powershell_running(
                            self.next_pid,
                            &prog,
                            &args,
                            now,
                            spent,
                            code,
                        ));
                        return;
                    }
                }
                continue;
            }
            match self.start_program(i, &prog, &args, stdout_to) {
                Ok(p) => {
                    if let Some(b) = self.servers[i].batch.as_mut() {
                        b.program = Some(p);
                    }
                    return;
                }
                Err(_) => {
                    // "'x' is not recognized as an internal or external command": on
                    // stderr, which no one sees in a task; the errorlevel says it.
                    self.redirect_output(i, &cmd.redirects, "", now);
                    if let Some(b) = self.servers[i].batch.as_mut() {
                        b.errorlevel = NOT_RECOGNIZED;
                    }
                }
            }
        }
    }

    /// Writes a command's stdout to its `>` target; every other redirected
    /// stream's file is created (or truncated) empty, as cmd opens them all.
    fn redirect_output(&mut self, i: usize, redirects: &[batch::Redirect], stdout: &str, now: i64) {
        for r in redirects {
            let text = if r.handle == 1 { stdout } else { "" };
            // A batch cannot report a failed redirection anywhere visible.
            let _ = self.write_file(i, &r.path, text, r.append, now);
        }
    }

    /// The running program ends: its effects, its exit code in
    /// `%ERRORLEVEL%`, and the batch goes on.
    pub(crate) fn program_end(&mut self, i: usize) {
        let Some(p) = self.servers[i]
            .batch
            .as_mut()
            .and_then(|b| b.program.take())
        else {
            return;
        };
        let Some(code) = self.finish_program(i, &p) else {
            // Interrupted: the machine restarts under the installer.
            self.begin_reboot(i);
            return;
        };
        if let Some(to) = &p.stdout_to {
            let now = self.now_ms;
            let text = if code == 0 || code == super::setup::MSI_REBOOT_REQUIRED {
                format!("{}\r\n", super::setup::SETUP_SUCCEEDED)
            } else {
                format!("{}\r\n", super::setup::SETUP_DIDNT_COMPLETE)
            };
            let text = if p.image == "msiexec.exe" {
                String::new()
            } else {
                text
            };
            let _ = self.write_file(i, to, &text, false, now);
        }
        if let Some(b) = self.servers[i].batch.as_mut() {
            b.errorlevel = code;
        }
        self.run_batch(i);
        if p.image == "msiexec.exe" && code == super::setup::MSI_REBOOT_INITIATED {
            // 1641: msiexec has initiated the restart; the batch writes its
            // exit code in the seconds before the machine goes down.
            self.begin_reboot(i);
        }
    }

    /// What tasklist shows on server `i`.
    pub fn processes(&self, i: usize) -> Vec<ProcessRow> {
        let s = &self.servers[i];
        let row = |image: &str, pid: u32, session: u32, mem_kb: u64| ProcessRow {
            image: image.to_string(),
            pid,
            session_name: if session == 0 { "Services" } else { "Console" },
            session,
            mem_kb,
        };
        let mut rows = vec![
            row("System Idle Process", 0, 0, 8),
            row("System", 4, 0, 144),
            row("smss.exe", 312, 0, 1_204),
            row("csrss.exe", 428, 0, 5_312),
            row("wininit.exe", 504, 0, 6_880),
            row("services.exe", 640, 0, 10_244),
            row("lsass.exe", 652, 0, 21_532),
        ];
        // Service processes (image names as on an Exchange 2019 server).
        let service_images: [(&str, &str, u32, u64); 6] = [
            (
                "MSExchangeTransport",
                "MSExchangeTransport.exe",
                4120,
                182_344,
            ),
            (
                "MSExchangeIS",
                "Microsoft.Exchange.Store.Service.exe",
                4388,
                251_020,
            ),
            ("MSExchangeRepl", "MSExchangeRepl.exe", 4456, 96_112),
            (
                "MSExchangeServiceHost",
                "Microsoft.Exchange.ServiceHost.exe",
                4520,
                120_408,
            ),
            ("W3SVC", "w3wp.exe", 5012, 301_776),
            ("WinRM", "svchost.exe", 1188, 18_020),
        ];
        for (svc, image, pid, kb) in service_images {
            if s.service_running(svc) {
                rows.push(row(image, pid, 0, kb));
            }
        }
        if let Some(b) = &s.batch {
            rows.push(row("cmd.exe", 6_100, 0, 3_124));
            if let Some(p) = &b.program {
                rows.push(row(&p.image, p.pid, 0, 183_204));
            }
        }
        rows
    }
}

/// A `powershell.exe` task action still running for `spent` ms of work its
/// script has already done; it exits with `code` (`ProgramKind::PowerShell`).
fn powershell_running(
    pid: u32,
    prog: &str,
    args: &str,
    now: i64,
    spent: i64,
    code: i32,
) -> super::model::Program {
    super::model::Program {
        kind: super::model::ProgramKind::PowerShell { exit_code: code },
        image: "powershell.exe".into(),
        pid,
        command_line: format!("\"{prog}\" {args}").trim_end().to_string(),
        started_ms: now,
        readiness_ms: now,
        readiness_done: true,
        ends_ms: now + spent,
        failure: None,
        powershell_seen: None,
        stdout_to: None,
        tasks_logged: 0,
    }
}
