//! A scheduled task whose action is `powershell.exe …` (`-Command`,
//! `-EncodedCommand`, or a script path): the script runs at once, in the
//! task's batch logon, not in a WinRM network logon — the logon has the
//! credentials the task was registered with, so the Exchange snap-in and
//! the ActiveDirectory module reach AD (remoting/logon.rs; Microsoft Learn,
//! "Making the second hop in PowerShell Remoting": a scheduled task with
//! stored credentials is one of its ways around the hop). Its standard
//! output goes to the batch line's `>` file, its exit code to
//! `%ERRORLEVEL%`. The lab treats a task registered without a password
//! (SYSTEM) the same way (UNVERIFIED: SYSTEM reaches AD as the computer
//! account, which Exchange's RBAC may refuse).

use super::batch::Redirect;
use super::host::ServerHost;
use super::pwsh;
use super::remoting::Logon;
use super::winrm::shell::{parse_command_line, Program};
use super::world::World;

impl World {
    /// Runs `prog args` when `prog` is powershell.exe; `None` otherwise
    /// (the caller starts it as another program). With the exit code, the
    /// time the script's work takes (`ServerHost::spend`): the process
    /// runs that long before it exits (`ProgramKind::PowerShell`).
    pub(crate) fn run_powershell_action(
        &mut self,
        i: usize,
        prog: &str,
        args: &str,
        redirects: &[Redirect],
    ) -> Option<(i32, i64)> {
        let line = format!("\"{prog}\" {args}");
        let (script, stderr_only) = match parse_command_line(&line) {
            Program::Ps { script, .. } => (script, None),
            Program::BadArguments(e) => (String::new(), Some(e)),
            Program::PsFromStdin => (String::new(), None),
            Program::Cmd(_) => return None,
        };
        self.next_pid += 4;
        let pid = self.next_pid;
        self.note_powershell(i, pid);
        let now = self.now_ms;
        let name = self.servers[i].name.clone();
        let (stdout, code, reboot, spent) = match stderr_only {
            Some(_) => (String::new(), 64, false, 0),
            None => {
                let mut host = ServerHost::new(self, &name, now).ok()?;
                host.logon = Logon::Batch;
                let out = pwsh::run(&script, &mut host);
                (
                    out.stdout,
                    out.exit_code,
                    host.reboot_requested,
                    host.spent_ms,
                )
            }
        };
        for r in redirects {
            let text = if r.handle == 1 { stdout.as_str() } else { "" };
            // A batch cannot report a failed redirection anywhere visible.
            let _ = self.write_file(i, &r.path, text, r.append, now);
        }
        if reboot {
            self.begin_reboot(i);
            return Some((code, 0));
        }
        Some((code, spent))
    }
}
