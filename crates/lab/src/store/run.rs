//! Running one script on a world the caller holds: settling it to the
//! call's time, refusing a server that is down, running a PowerShell
//! script (with its costs, a command-time budget and a reboot it asks for)
//! or a cmd.exe line, then checking availability. It must not lock,
//! load or save anything: `Lab` does that around these.

use super::LabError;
use crate::host::ServerHost;
use crate::pwsh::{self, ScriptOutput};
use crate::world::World;

/// Settles `world` to `now` and finds `server`, refusing while it is down.
pub(super) fn enter(world: &mut World, server: &str, now: i64) -> Result<usize, LabError> {
    world.settle(now);
    let i = world
        .server_index(server)
        .ok_or_else(|| LabError::UnknownServer(server.to_string()))?;
    match world.servers[i].down_until_ms {
        Some(back) => Err(LabError::Unreachable {
            server: world.servers[i].name.clone(),
            back_in_ms: back - now,
        }),
        None => Ok(i),
    }
}

/// Runs a PowerShell script on `server` at `now` (the world is settled to
/// it first). The powershell.exe process is visible to setup's prerequisite
/// check while it runs; `Restart-Computer` takes effect once the script has
/// ended, so its output still arrives.
pub fn run_ps_in(
    world: &mut World,
    server: &str,
    script: &str,
    now: i64,
) -> Result<ScriptOutput, LabError> {
    run_ps_fed(world, server, script, "", now)
}

/// `run_ps_in` for a process whose standard input held `stdin`.
pub fn run_ps_fed(
    world: &mut World,
    server: &str,
    script: &str,
    stdin: &str,
    now: i64,
) -> Result<ScriptOutput, LabError> {
    run_ps_counted(world, server, pwsh::prepare(script), stdin, now, None).map(|(out, _)| out)
}

/// `run_ps_fed`, with how many Exchange remote sessions the script opened,
/// killed once its commands took more than `budget_ms` of command time
/// (see `Lab::run_ps_within`).
pub(super) fn run_ps_counted(
    world: &mut World,
    server: &str,
    script: pwsh::Prepared,
    stdin: &str,
    now: i64,
    budget_ms: Option<i64>,
) -> Result<(ScriptOutput, Opened), LabError> {
    let i = enter(world, server, now)?;
    world.next_pid += 4;
    let pid = world.next_pid;
    world.note_powershell(i, pid);
    let name = world.servers[i].name.clone();
    let mut host = ServerHost::new(world, &name, now).map_err(|e| LabError::UnknownServer(e.0))?;
    host.budget_ms = budget_ms;
    let mut stdin = stdin.to_string();
    let out = pwsh::run_prepared(script, &mut stdin, &mut pwsh::Session::default(), &mut host);
    if !host.killed {
        // Sending the output back (`[lab.timings] output_per_mb`).
        let cost = host
            .world
            .timings
            .output_ms(out.stdout.len() + out.stderr.len());
        host.spend(cost);
    }
    let reboot = host.reboot_requested && !host.killed;
    let killed = host.killed.then_some(host.spent_ms);
    let opened = Opened {
        sessions: host.remoting.opened(),
        imports: host.remoting.imports(),
    };
    if reboot {
        world.begin_reboot(i);
    }
    world.check_availability();
    match killed {
        Some(after_ms) => Err(LabError::TimedOut {
            server: name,
            after_ms,
        }),
        None => Ok((out, opened)),
    }
}

/// What a script opened that the lab counts: Exchange sessions and
/// `Import-PSSession` runs.
pub(super) struct Opened {
    pub(super) sessions: usize,
    pub(super) imports: usize,
}

/// Runs a cmd.exe command line on `server` at `now`, `%VAR%` expanded:
/// `hostname`, `type <file>`, `findstr /C:…` (`batch::findstr`), `tasklist [/FI "IMAGENAME eq x"] [/FO
/// TABLE|CSV|LIST] [/NH]`; anything else is not recognised, as cmd.exe says.
pub fn run_cmd_in(
    world: &mut World,
    server: &str,
    command: &str,
    now: i64,
) -> Result<ScriptOutput, LabError> {
    let i = enter(world, server, now)?;
    let w = &*world;
    let line = crate::batch::expand(command.trim(), &|n| w.env_var(i, n));
    let (verb, rest) = crate::batch::program_and_args(&line);
    let ok = |stdout: String| ScriptOutput {
        stdout,
        stderr: String::new(),
        exit_code: 0,
    };
    let fail = |stderr: &str| ScriptOutput {
        stdout: String::new(),
        stderr: stderr.to_string(),
        exit_code: 1,
    };
    Ok(match verb.to_ascii_lowercase().as_str() {
        "hostname" => ok(format!("{}\r\n", w.servers[i].name.to_ascii_uppercase())),
        "type" => {
            let path = crate::batch::arguments(&rest)
                .into_iter()
                .next()
                .unwrap_or_default();
            match w.file(i, &path) {
                Some(f) => ok(f.content),
                None if w.directory_exists(i, &path) => fail("Access is denied.\r\n"),
                None => fail("The system cannot find the file specified.\r\n"),
            }
        }
        "find" => {
            let (stdout, stderr, exit_code) =
                crate::batch::find_count(&rest, &|path| w.file(i, path).map(|f| f.content));
            ScriptOutput {
                stdout,
                stderr,
                exit_code,
            }
        }
        "findstr" => {
            let (stdout, stderr, exit_code) =
                crate::batch::findstr(&rest, &|path| w.file(i, path).map(|f| f.content));
            ScriptOutput {
                stdout,
                stderr,
                exit_code,
            }
        }
        "tasklist" => match crate::batch::tasklist(&rest, &w.processes(i)) {
            Ok(out) => ok(out),
            Err(e) => fail(&e),
        },
        "schtasks" => match schtasks_query(w, i, &rest) {
            Ok(out) => ok(out),
            Err(e) => fail(&e),
        },
        _ => ScriptOutput {
            stdout: String::new(),
            stderr: format!(
                "'{verb}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
            ),
            exit_code: 9009,
        },
    })
}

/// `schtasks /Query /TN "<name>" [/V] /FO CSV /NH`, the form cu-roll polls.
/// Verbose rows carry 28 columns whose 7th, `Last Result`, is a number in
/// every language: 267009 (0x41301, SCHED_S_TASK_RUNNING) while the task
/// runs — unlike `Status`, which Windows translates.
fn schtasks_query(w: &World, i: usize, args: &str) -> Result<String, String> {
    let words = crate::batch::arguments(args);
    let has = |flag: &str| words.iter().any(|a| a.eq_ignore_ascii_case(flag));
    let name = words
        .iter()
        .position(|a| a.eq_ignore_ascii_case("/TN"))
        .and_then(|p| words.get(p + 1))
        .map(|n| n.trim_start_matches('\\').to_string());
    if !has("/Query") || !has("/FO") || !has("/NH") {
        return Err("ERROR: Invalid syntax. The lab answers schtasks /Query /TN <name> [/V] /FO CSV /NH only.\r\n".into());
    }
    let Some(task) = name.as_deref().and_then(|n| w.task(i, n)) else {
        return Err("ERROR: The system cannot find the file specified.\r\n".into());
    };
    let status = if task.running { "Running" } else { "Ready" };
    let last_result = if task.running {
        267_009
    } else {
        task.last_result
    };
    let last_run = task
        .last_run_ms
        .map_or_else(|| "N/A".to_string(), super::pwsh::datetime::format_general);
    let row = if has("/V") {
        let mut cols = vec![
            w.servers[i].name.to_ascii_uppercase(),
            format!("\\{}", task.name),
            "N/A".into(),
            status.into(),
            "Interactive/Background".into(),
            last_run,
            last_result.to_string(),
            task.user_id.clone(),
            task.execute.clone(),
        ];
        cols.resize(28, "N/A".into());
        cols
    } else {
        vec![format!("\\{}", task.name), "N/A".into(), status.into()]
    };
    let quoted: Vec<String> = row.iter().map(|c| format!("\"{c}\"")).collect();
    Ok(format!("{}\r\n", quoted.join(",")))
}
