//! The command line: clap definitions, and what is generated from them
//! alone (shell completions, the man page, the "did you mean" for a
//! mistyped command). Parsing ends here; `lib::run` turns a `Cli` into
//! work. Every argument carries help text (a test walks them all).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cu-roll",
    version,
    about = "Rolls an Exchange Server Cumulative Update across the members of a DAG without taking a database offline",
    after_help = crate::exit::HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// The plan file: `cu-roll PLAN` is the same as `cu-roll run PLAN`.
    #[arg(value_name = "PLAN", required = true)]
    pub plan: Option<PathBuf>,

    #[command(flatten)]
    pub run_flags: RunFlags,
}

pub use crate::logging::LogFormat;
pub use crate::report::status::StatusFormat;

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where the journal, lock, logs and the lab's world live
    /// [default: a folder `<plan stem>.cu-roll` beside the plan].
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Format of the log file: set from `run`'s `--log-format`, the only
    /// command that writes a log (`commands` fills it in).
    #[arg(skip)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the rollout, or resume it from the journal.
    Run(RunArgs),
    /// Pre-flight version report: builds, prerequisites, DAG health, blockers. Read-only.
    Report(ReportArgs),
    /// What the journal says: done, in progress, failed, and why.
    Status(StatusArgs),
    /// Clear a lock left behind by a run that died.
    Unlock(UnlockArgs),
    /// Save the config files a CU overwrites into a verified zip per server
    /// (`backup verify FILE` re-checks one).
    Backup(BackupArgs),
    /// Compare the config files now with the backup taken before the CU: what did the CU revert?
    Drift(DriftArgs),
    /// Put back one `appSettings` value a CU reverted, after showing the change.
    RestoreConfig(RestoreConfigArgs),
    /// Run one command on one server (or all) over the configured transport.
    Exec(ExecArgs),
    /// What the catalogue knows (CUs, their SUs/HUs, builds, dates,
    /// support); `catalog update` installs a newer catalogue file.
    #[command(args_conflicts_with_subcommands = true)]
    Catalog(CatalogArgs),
    /// Judge an ExchangeSetup.log as CSS-Exchange's SetupLogReviewer does:
    /// the last run's verdict, failed rules or errors, and advice.
    SetupLog(SetupLogArgs),
    /// The simulated DAG described by the plan's [lab] section.
    Lab {
        #[command(subcommand)]
        command: LabCommand,
    },
    /// Measure the performance figures of docs/performance.md on generated
    /// lab worlds (takes minutes; `--quick` for a tiny estate).
    Bench(BenchArgs),
    /// Print a shell completion script, e.g. `cu-roll completions bash >
    /// /etc/bash_completion.d/cu-roll`.
    Completions {
        /// The shell to complete for.
        #[arg(value_name = "SHELL", value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `cu-roll man > /usr/local/share/man/man1/cu-roll.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Real-world durations (setup, reboots, per-call costs, polls) are
    /// divided by this, so an hour of setup takes 3600/SCALE seconds
    /// [default: 300, or 6000 with --quick].
    #[arg(long, value_name = "SCALE")]
    pub scale: Option<u32>,
    /// A tiny estate (2 DAGs x 2 members, one upgraded in each; a 4-server pre-flight): figures
    /// 1 to 4 in seconds, not figures to quote (figure 5 is --calls).
    #[arg(long)]
    pub quick: bool,
    /// Keep the generated plans, journals and logs (the path is printed).
    #[arg(long)]
    pub keep: bool,
    /// Only figure 5: the calls of a rollout of one DAG of 3 members, then
    /// of 8, every member upgraded (do calls grow with members, or with
    /// their square?).
    #[arg(long)]
    pub calls: bool,
    /// Only figure 1's row with every DAG in parallel (`max_parallel_dags`
    /// = the DAGs): the makespan ÷ bound of the target, about a minute and
    /// a half (with --keep, its cu-roll.log, which `CU_ROLL_LOG=cu_roll::calls=debug,info`
    /// fills with every call's and every wait's time).
    #[arg(long, conflicts_with_all = ["calls", "preflight"])]
    pub makespan: bool,
    /// Only figures 2 and 4: the pre-flight of 200 servers (and of one),
    /// and the orchestrator's footprint in it and in the 4 x 4 rollout
    /// with parallel DAGs (whose makespan line is printed too).
    #[arg(long, conflicts_with = "calls")]
    pub preflight: bool,
    /// Only figure 2 and the 200-server report's footprint (no rollout):
    /// about 15 seconds, for trying a change to the pre-flight or the lab.
    #[arg(long, conflicts_with_all = ["calls", "preflight", "makespan"])]
    pub report: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plan file (TOML; see docs/plan.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    #[command(flatten)]
    pub flags: RunFlags,
}

#[derive(Debug, Clone, Args, Default)]
pub struct RunFlags {
    /// Print the plan view and every step with its commands, one line
    /// each; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print the exact scripts each step may send.
    #[arg(long, requires = "dry_run")]
    pub scripts: bool,
    /// Start without asking: no confirmation after the plan view, no
    /// question before each next server (`pause_between`). Needed to run
    /// without a terminal.
    #[arg(long)]
    pub yes: bool,
    /// Format of the log file (`cu-roll.log` in the state directory).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Roll only these servers (names from the plan, space- or
    /// comma-separated); the gates still judge the whole DAG. Journaled: a
    /// resumed run keeps it unless given --only, --exclude or --all.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub only: Vec<String>,
    /// Roll every server but these (names from the plan); journaled like --only.
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub exclude: Vec<String>,
    /// Roll every server, dropping an --only/--exclude an earlier run of
    /// this rollout journaled.
    #[arg(long, conflicts_with_all = ["only", "exclude"])]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The plan file (TOML; see docs/plan.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// How to print it: aligned text, or JSON for scripts (docs/status.md).
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The plan file (TOML; see docs/plan.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Required: clearing a lock a live run holds would let two runs collide.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The plan file (TOML; see docs/plan.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// How to print it (docs/report.md).
    #[arg(long, value_enum, default_value_t = crate::report::Format::Table)]
    pub format: crate::report::Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The plan file (TOML; see docs/plan.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The server to run on (a `[[server]]` name).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub server: Option<String>,
    /// Run on every server in the plan, concurrently (16 at a time).
    #[arg(long)]
    pub all: bool,
    /// COMMAND is PowerShell (otherwise a cmd.exe command line).
    #[arg(long, conflicts_with = "exchange")]
    pub ps: bool,
    /// COMMAND is an Exchange command, run as the rollout runs Exchange
    /// cmdlets: in a WinRM shell on the server, inside an Exchange remote
    /// session to that server (http://<fqdn>/PowerShell/, Kerberos) opened
    /// with the plan's account. Proves access before the night, e.g.
    /// `--exchange Get-ExchangeServer`.
    #[arg(long)]
    pub exchange: bool,
    /// The command to run there, as one argument (quote it).
    #[arg(value_name = "COMMAND")]
    pub command: String,
}

#[derive(Debug, Args)]
pub struct SetupLogArgs {
    /// The log, e.g. a copy of `%SystemDrive%\ExchangeSetupLogs\ExchangeSetup.log`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// How to print the verdict: aligned text, or JSON for scripts.
    #[arg(long, value_enum, default_value_t = SetupLogFormat::Table)]
    pub format: SetupLogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SetupLogFormat {
    /// Aligned text for a person.
    Table,
    /// Pretty JSON for scripts.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFormat {
    /// Pretty JSON (the only form).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Serve every lab server over WinRM on loopback until stopped; prints
    /// one `NAME URL` line per server.
    Serve {
        /// The plan file with a [lab] section.
        #[arg(value_name = "PLAN")]
        plan: PathBuf,
    },
    /// Start the lab's world over from the plan.
    Reset {
        /// The plan file with a [lab] section.
        #[arg(value_name = "PLAN")]
        plan: PathBuf,
    },
    /// Print the lab's world (servers, databases, availability record).
    State {
        /// The plan file with a [lab] section.
        #[arg(value_name = "PLAN")]
        plan: PathBuf,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = StateFormat::Json)]
        format: StateFormat,
    },
    /// Move the lab's clock forward (e.g. past a fault's hold) without
    /// waiting; `lab reset` puts it back on the wall clock.
    Advance {
        /// The plan file with a [lab] section.
        #[arg(value_name = "PLAN")]
        plan: PathBuf,
        /// How far, e.g. `30s`, `2m`, `1500ms`.
        #[arg(value_name = "DURATION", value_parser = humantime::parse_duration)]
        by: std::time::Duration,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// The plan file (TOML; see docs/plan.md).
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Only this server (default: every server in the plan).
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Re-read a backup zip and re-hash every file against its manifest.
    Verify {
        /// The backup zip (`<server>-<time>.zip` in the state directory's `backups`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriftFormat {
    /// Lines for a person.
    Text,
    /// Pretty JSON for scripts.
    Json,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The plan file (TOML; see docs/plan.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Only this server (default: every server in the plan).
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// How to print the comparison.
    #[arg(long, value_enum, default_value_t = DriftFormat::Text)]
    pub format: DriftFormat,
    /// Compare with this backup zip [default: the backup the rollout took
    /// before the server's CU, else the newest].
    #[arg(long, value_name = "FILE")]
    pub backup: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreConfigArgs {
    /// The plan file (TOML; see docs/plan.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The server to restore on (a `[[server]]` name).
    #[arg(long, value_name = "NAME")]
    pub server: String,
    /// The appSettings key to put back, as it was in the backup (the one
    /// the rollout took before the server's CU, unless --backup names one).
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Take the value from this backup zip [default: the backup the
    /// rollout took before the server's CU, else the newest].
    #[arg(long, value_name = "FILE")]
    pub backup: Option<PathBuf>,
    /// The file, when the key was reverted in several (e.g. `ClientAccess/Owa/web.config`).
    #[arg(long, value_name = "ENTRY")]
    pub file: Option<String>,
    /// Apply without asking (the change is still printed first).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub command: Option<CatalogCommand>,
    /// `cu-roll catalog` alone lists, like `cu-roll catalog list`.
    #[command(flatten)]
    pub list: CatalogListArgs,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List every CU with its SUs/HUs (the default).
    List(CatalogListArgs),
    /// Install a newer catalogue file (checked, then stored in the user's
    /// configuration directory, where it overrides the built-in one).
    Update(CatalogUpdateArgs),
}

#[derive(Debug, Clone, Copy, Args)]
pub struct CatalogListArgs {
    /// How to print the list.
    #[arg(long, value_enum, default_value_t = CatalogFormat::Table)]
    pub format: CatalogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    /// Aligned text for a person.
    Table,
    /// Pretty JSON for scripts.
    Json,
}

#[derive(Debug, Args)]
pub struct CatalogUpdateArgs {
    /// An http:// or https:// URL, or a local file.
    #[arg(
        long,
        value_name = "URL|FILE",
        required_unless_present = "reset",
        conflicts_with = "reset"
    )]
    pub from: Option<String>,
    /// The file's expected SHA-256 (64 hex digits); a mismatch is refused.
    #[arg(long, value_name = "HEX", requires = "from")]
    pub sha256: Option<String>,
    /// Store the file even when it lowers a CU's prerequisites or AD levels
    /// against the built-in catalogue (refused otherwise).
    #[arg(long, requires = "from")]
    pub allow_lower: bool,
    /// Remove the stored catalogue: the built-in one applies again.
    #[arg(long)]
    pub reset: bool,
}

/// Parses the process's command line; on a mistake prints clap's error
/// (with a "did you mean" for a mistyped command) and exits 2, and with no
/// argument at all prints the help.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(err) = mistyped_command(&args) {
        err.exit();
    }
    Cli::parse_from(args)
}

/// `cu-roll repot plans/lab.toml`: the first word is neither a command nor
/// a file, and (unlike a plan path with a typo, which the plan loader
/// reports with its path) it looks like a command, or more words follow it.
/// Without this, clap reads it as `<PLAN>` and complains about the next word.
fn mistyped_command(args: &[OsString]) -> Option<clap::Error> {
    let (index, word) = first_positional(args)?;
    let word = word.to_str()?;
    let mut cmd = Cli::command();
    // Built, so that clap's own `help` command is among the names.
    cmd.build();
    if cmd.find_subcommand(word).is_some() || Path::new(word).exists() {
        return None;
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let similar = names
        .iter()
        .map(|n| (strsim::jaro(word, n), n))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n);
    let more_words = args[index + 1..]
        .iter()
        .any(|a| !a.to_string_lossy().starts_with('-'));
    let hint = match similar {
        Some(name) => format!("did you mean '{name}'?"),
        None if more_words => format!("the commands are: {}", names.join(", ")),
        None => return None,
    };
    Some(cmd.error(
        clap::error::ErrorKind::InvalidSubcommand,
        format!("'{word}' is not a command or a plan file; {hint}"),
    ))
}

/// The first argument that is not an option or an option's value.
fn first_positional(args: &[OsString]) -> Option<(usize, &OsString)> {
    // The options of the top level that take a separate value.
    const WITH_VALUE: [&str; 2] = ["--state-dir", "--log-format"];
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "--" {
            return args.get(i + 1).map(|w| (i + 1, w));
        }
        if WITH_VALUE.contains(&a.as_ref()) {
            i += 2;
            continue;
        }
        if !a.starts_with('-') {
            return Some((i, &args[i]));
        }
        i += 1;
    }
    None
}

/// The completion script for `shell`, generated from these definitions.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "cu-roll", &mut out);
    out
}

/// The man page (roff), generated from these definitions.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
