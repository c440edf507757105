//! The diagnostic log: `tracing` events appended to `cu-roll.log` in the
//! plan's state directory, as text or as JSON lines (`--log-format json`).
//!
//! A rollout run also keeps its own copy, `runs/<run id>/cu-roll.log`
//! beside its run report ([`keep_per_run`]): from its first line to its
//! last, so a later run (a resume, or a re-run with nothing to do) never
//! touches the night's log.
//!
//! The log is for the admin who investigates a run afterwards; it never
//! goes to the terminal (stderr belongs to the progress display, stdout to
//! results) and it is not the durable truth — the journal is. Nothing in
//! cu-roll logs a secret (a password, a token, a credential file's
//! content): callers log names, steps, outcomes and command lines only, and
//! this module adds nothing of its own beyond the version it starts with.
//!
//! It also owns the console's stamping: when a rollout's stderr is a log
//! and not a terminal, every line `run` prints itself starts with its UTC
//! time ([`say`]), like the progress lines.
//!
//! Verbosity follows the `CU_ROLL_LOG` environment variable (an
//! `EnvFilter` directive such as `debug` or `cu_roll::run=trace`); the
//! default is `info`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// The log file's name inside the state directory.
pub const LOG_FILE: &str = "cu-roll.log";

/// The environment variable holding the log's filter directives.
pub const FILTER_ENV: &str = "CU_ROLL_LOG";

/// The filter used when `CU_ROLL_LOG` is unset or empty.
const DEFAULT_FILTER: &str = "info";

/// How each log line is written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-11-27T10:00:03.123456Z  INFO cu_roll::run: step started server="EX02" step="setup"`
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target` and the
    /// event's fields (`message`, `server`, `step` …) at the top level.
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("cannot create the state directory {path} for the log: {source}; check the path given with --state-dir and its permissions")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the log file {path} for appending: {source}; check its permissions, or move it aside")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {FILTER_ENV} environment variable holds '{value}', which is not a log filter ({detail}); use a level such as `debug`, or unset it")]
    BadFilter { value: String, detail: String },
    #[error("logging was already set up in this process; call logging::init once, at start-up")]
    AlreadyInitialised,
}

/// Proof that logging is on, and where it goes. Logging stays on for the
/// rest of the process (a global `tracing` subscriber cannot be removed);
/// writes are unbuffered, so nothing is lost if the process dies.
#[derive(Debug)]
pub struct LogGuard {
    path: PathBuf,
}

impl LogGuard {
    /// The log file, for telling the admin where to look.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Where the log of a plan whose state directory is `state_dir` lives.
pub fn log_path(state_dir: &Path) -> PathBuf {
    state_dir.join(LOG_FILE)
}

/// Sends this process's `tracing` events to `cu-roll.log` in `state_dir`
/// (created if needed, appended to). Call once, before the run starts.
pub fn init(state_dir: &Path, format: LogFormat) -> Result<LogGuard, LoggingError> {
    let filter = filter_from(std::env::var(FILTER_ENV).ok().as_deref())?;
    let (file, path) = open_log(state_dir)?;
    let start = file.metadata().map(|m| m.len()).unwrap_or(0);
    let sinks = Sinks {
        main: file,
        per_run: &PER_RUN,
    };
    tracing::subscriber::set_global_default(subscriber(sinks, format, filter))
        .map_err(|_| LoggingError::AlreadyInitialised)?;
    *lock(&PER_RUN) = PerRun::Pending {
        main: path.clone(),
        start,
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        "cu-roll started"
    );
    Ok(LogGuard { path })
}

/// Parses `CU_ROLL_LOG`'s value; unset or blank means the default.
fn filter_from(value: Option<&str>) -> Result<EnvFilter, LoggingError> {
    let directives = match value.map(str::trim) {
        Some(v) if !v.is_empty() => v,
        _ => DEFAULT_FILTER,
    };
    EnvFilter::try_new(directives).map_err(|e| LoggingError::BadFilter {
        value: directives.to_string(),
        detail: e.to_string(),
    })
}

fn open_log(state_dir: &Path) -> Result<(File, PathBuf), LoggingError> {
    std::fs::create_dir_all(state_dir).map_err(|source| LoggingError::CreateDir {
        path: state_dir.to_path_buf(),
        source,
    })?;
    let path = log_path(state_dir);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| LoggingError::Open {
            path: path.clone(),
            source,
        })?;
    Ok((file, path))
}

/// This process's copy of the log for its run, once [`keep_per_run`]
/// opened it.
enum PerRun {
    /// Logging is not on, or goes to the plan's log only.
    Off,
    /// Logging is on; this process's lines start at `start` in `main`.
    Pending { main: PathBuf, start: u64 },
    /// Every line also goes here.
    Kept(File),
}

static PER_RUN: Mutex<PerRun> = Mutex::new(PerRun::Off);

fn lock(m: &Mutex<PerRun>) -> std::sync::MutexGuard<'_, PerRun> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps this run's log in `dir` (`runs/<run id>/`, created if needed) as
/// `cu-roll.log`: what this process logged so far, then every later line.
/// Returns the file, or why it could not be kept (the plan's log goes on).
pub fn keep_per_run(dir: &Path) -> std::io::Result<PathBuf> {
    keep_per_run_in(&PER_RUN, dir)
}

fn keep_per_run_in(per_run: &Mutex<PerRun>, dir: &Path) -> std::io::Result<PathBuf> {
    // Held while copying: a line logged meanwhile waits, then goes to both.
    let mut state = lock(per_run);
    let PerRun::Pending { main, start } = &*state else {
        return Err(std::io::Error::other(
            "the log is not on, or this run's copy is already kept",
        ));
    };
    std::fs::create_dir_all(dir)?;
    let to = dir.join(LOG_FILE);
    let mut copy = OpenOptions::new().create(true).append(true).open(&to)?;
    let mut from = File::open(main)?;
    from.seek(std::io::SeekFrom::Start(*start))?;
    let mut so_far = Vec::new();
    from.read_to_end(&mut so_far)?;
    copy.write_all(&so_far)?;
    *state = PerRun::Kept(copy);
    Ok(to)
}

/// Where each line goes: the plan's log, and this run's copy once kept.
struct Sinks {
    main: File,
    per_run: &'static Mutex<PerRun>,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sinks {
    type Writer = SinkWriter<'a>;

    fn make_writer(&'a self) -> SinkWriter<'a> {
        SinkWriter(self)
    }
}

struct SinkWriter<'a>(&'a Sinks);

impl Write for SinkWriter<'_> {
    /// One formatted event: written whole to the plan's log and (when
    /// kept) this run's copy, under the copy's lock so that
    /// [`keep_per_run`] neither loses nor doubles a line.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let state = lock(self.0.per_run);
        (&self.0.main).write_all(buf)?;
        if let PerRun::Kept(copy) = &*state {
            // The plan's log has the line; a failing copy loses only its own.
            let _ = (&*copy).write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The subscriber writing to `sinks`. Each event is formatted whole and
/// written with one `write` on files opened for appending, so lines from
/// several threads (DAGs rolled in parallel) never interleave.
fn subscriber<W>(
    sinks: W,
    format: LogFormat,
    filter: EnvFilter,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_writer(sinks)
        .with_ansi(false)
        .with_target(true)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .finish(),
        ),
    }
}

// --- the console: stderr's own lines when they are a log, not a terminal ---

/// Set once a rollout's console is a log (stderr not a terminal): every
/// line `run` prints itself (and the final error `main` prints) then
/// starts with its UTC time, like the plain progress lines.
static STAMP_CONSOLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stamps this process's console lines from now on when stderr is not a
/// terminal (`run` calls it at its start).
pub fn stamp_console() {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        STAMP_CONSOLE.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Prints `text` on stderr, each line stamped with the UTC time when the
/// console is stamped (see [`stamp_console`]).
pub fn say(text: &str) {
    let stamp = STAMP_CONSOLE
        .load(std::sync::atomic::Ordering::Relaxed)
        .then(|| {
            format!(
                "{} ",
                humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            )
        });
    for line in text.lines() {
        eprintln!("{}{line}", stamp.as_deref().unwrap_or(""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logs a step event through a subscriber for `state_dir` (scoped to
    /// this thread, so tests do not fight over the global one).
    fn log_one(state_dir: &Path, format: LogFormat) -> String {
        let (file, path) = open_log(state_dir).unwrap();
        let sub = subscriber(file, format, filter_from(None).unwrap());
        tracing::subscriber::with_default(sub, || {
            tracing::info!(target: "cu_roll::run", server = "EX02", step = "setup", "step started");
            tracing::debug!(target: "cu_roll::run", "below the default level");
        });
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn text_log_goes_to_the_state_directory_without_colour() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let text = log_one(&state, LogFormat::Text);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("INFO cu_roll::run: step started"), "{text}");
        assert!(text.contains("server=\"EX02\""), "{text}");
        assert!(!text.contains('\u{1b}'), "no ANSI codes in a file: {text}");
        assert!(log_path(&state).exists());
    }

    #[test]
    fn json_log_is_one_object_per_line_with_flat_fields() {
        let dir = tempfile::tempdir().unwrap();
        let text = log_one(dir.path(), LogFormat::Json);
        let line = text.lines().next().unwrap();
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "cu_roll::run");
        assert_eq!(v["message"], "step started");
        assert_eq!(v["server"], "EX02");
        assert_eq!(v["step"], "setup");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    /// A run's copy holds this process's lines from its first (not the
    /// earlier processes'), and every later line, once each.
    #[test]
    fn a_runs_copy_holds_its_own_lines_from_the_first() {
        static PER_RUN: Mutex<PerRun> = Mutex::new(PerRun::Off);
        let dir = tempfile::tempdir().unwrap();
        log_one(dir.path(), LogFormat::Text); // an earlier process
        let (file, path) = open_log(dir.path()).unwrap();
        let start = file.metadata().unwrap().len();
        *lock(&PER_RUN) = PerRun::Pending {
            main: path.clone(),
            start,
        };
        let sinks = Sinks {
            main: file,
            per_run: &PER_RUN,
        };
        let sub = subscriber(sinks, LogFormat::Text, filter_from(None).unwrap());
        let runs = dir.path().join("runs").join("r1");
        let kept = tracing::subscriber::with_default(sub, || {
            tracing::info!(target: "cu_roll::run", "before the run id");
            let kept = keep_per_run_in(&PER_RUN, &runs).unwrap();
            tracing::info!(target: "cu_roll::run", "after it");
            kept
        });
        assert_eq!(kept, runs.join(LOG_FILE));
        let copy = std::fs::read_to_string(&kept).unwrap();
        let lines: Vec<&str> = copy.lines().collect();
        assert_eq!(lines.len(), 2, "{copy}");
        assert!(lines[0].ends_with("before the run id"), "{copy}");
        assert!(lines[1].ends_with("after it"), "{copy}");
        let all = std::fs::read_to_string(&path).unwrap();
        assert_eq!(all.lines().count(), 3, "{all}");
        assert!(keep_per_run_in(&PER_RUN, &runs).is_err(), "kept once");
    }

    #[test]
    fn log_is_appended_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        log_one(dir.path(), LogFormat::Text);
        let text = log_one(dir.path(), LogFormat::Text);
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn filter_comes_from_the_variable_and_a_bad_one_is_explained() {
        assert!(filter_from(Some("debug")).is_ok());
        assert!(filter_from(Some("  ")).is_ok());
        let err = filter_from(Some("cu_roll=loud")).unwrap_err();
        assert!(err.to_string().contains("CU_ROLL_LOG"), "{err}");
        assert!(err.to_string().contains("'cu_roll=loud'"), "{err}");
    }

    #[test]
    fn unwritable_state_directory_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "x").unwrap();
        let err = open_log(&blocker.join("state")).unwrap_err();
        assert!(matches!(err, LoggingError::CreateDir { .. }));
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }
}
