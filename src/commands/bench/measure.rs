//! Runs one orchestrator command (`cu-roll run|report`) as a child process
//! and measures it alone, not the lab (which the bench serves in its own
//! process): wall time, CPU (user + system) and peak resident set. On
//! Linux the child's `/proc/PID/stat` and `status` are read while it runs
//! and once it has exited but is not yet reaped (a zombie keeps its CPU
//! times: the same figures `getrusage(RUSAGE_CHILDREN)` adds up, proc(5));
//! elsewhere only the wall time is measured. The CPU this process used
//! meanwhile is measured too: the lab it serves the child (its listener
//! threads), plus this loop's sampling. No plan generation here.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one child used.
pub struct Usage {
    pub wall: Duration,
    pub cpu: Option<Duration>,
    pub peak_rss_kib: Option<u64>,
    /// The most of the child's resident memory seen that was anonymous
    /// (heap, stacks) and that was file pages (its executable, libraries),
    /// KiB: two samples' maxima, not parts of the peak.
    pub rss_anon_kib: Option<u64>,
    pub rss_file_kib: Option<u64>,
    /// This process's CPU while the child ran: the served lab's answers.
    pub server_cpu: Option<Duration>,
    pub exit_code: Option<i32>,
    /// The end of its standard error, for a failure's message.
    pub stderr_tail: String,
}

/// Runs this executable with `args` (and the lab's password in the
/// environment), output to files in `dir`.
pub fn run_self(args: &[&str], dir: &Path) -> std::io::Result<Usage> {
    let exe = std::env::current_exe()?;
    let out = std::fs::File::create(dir.join("stdout.txt"))?;
    let err_path = dir.join("stderr.txt");
    let err = std::fs::File::create(&err_path)?;
    let server_before = proc_sample(std::process::id()).map(|s| s.cpu);
    let start = Instant::now();
    let mut command = match std::env::var("CU_ROLL_BENCH_WRAP") {
        // A profiler in front of the child (e.g. `heaptrack -o FILE`), for
        // finding where its memory goes; its own usage is then measured too.
        Ok(wrap) if !wrap.trim().is_empty() => {
            let mut words = wrap.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or_default());
            c.args(words).arg(&exe);
            c
        }
        _ => Command::new(&exe),
    };
    let mut child = command
        .args(args)
        .env("CUROLL_LAB_PASSWORD", "lab-only-password")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()?;
    let mut peak = None;
    let mut anon = None;
    let mut file = None;
    let mut cpu = None;
    let wall = loop {
        if let Some(sample) = proc_sample(child.id()) {
            peak = peak.max(sample.peak_rss_kib);
            anon = anon.max(sample.rss_anon_kib);
            file = file.max(sample.rss_file_kib);
            if sample.zombie {
                cpu = Some(sample.cpu);
                break start.elapsed();
            }
        } else if child.try_wait()?.is_some() {
            break start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let server_after = proc_sample(std::process::id()).map(|s| s.cpu);
    let status = child.wait()?;
    let text = std::fs::read_to_string(&err_path).unwrap_or_default();
    let tail: String = text.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
    Ok(Usage {
        wall,
        cpu,
        peak_rss_kib: peak,
        rss_anon_kib: anon,
        rss_file_kib: file,
        server_cpu: server_before
            .zip(server_after)
            .map(|(before, after)| after.saturating_sub(before)),
        exit_code: status.code(),
        stderr_tail: tail,
    })
}

struct Sample {
    zombie: bool,
    cpu: Duration,
    peak_rss_kib: Option<u64>,
    rss_anon_kib: Option<u64>,
    rss_file_kib: Option<u64>,
}

/// Clock ticks per second of `/proc/PID/stat`'s times: `USER_HZ`, 100 on
/// every Linux architecture cu-roll builds for (proc(5), `sysconf(_SC_CLK_TCK)`).
#[cfg(target_os = "linux")]
const TICKS_PER_SECOND: u64 = 100;

#[cfg(target_os = "linux")]
fn proc_sample(pid: u32) -> Option<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which ends at the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    let ticks = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let cpu_ticks = ticks(14)? + ticks(15)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Sample {
        zombie: fields.first() == Some(&"Z"),
        cpu: Duration::from_millis(cpu_ticks * 1000 / TICKS_PER_SECOND),
        peak_rss_kib: kib("VmHWM:"),
        rss_anon_kib: kib("RssAnon:"),
        rss_file_kib: kib("RssFile:"),
    })
}

#[cfg(not(target_os = "linux"))]
fn proc_sample(_pid: u32) -> Option<Sample> {
    None
}
