//! The lines of `ExchangeSetup.log` and the facts of its last run.
//!
//! A line is `[03/11/2021 11:42:38.0237] [0] text`; an entry that spans
//! several lines (a script, a stack trace) continues on lines without that
//! prefix. The last run starts at the last line `Starting Microsoft
//! Exchange Server (\d{4}|Subscription Edition) Setup`
//! (`Setup/Shared/SetupLogReviewerFunctions.ps1`, `Get-SetupLogReviewer`;
//! here the whole text after the prefix must be that, where the script
//! accepts it anywhere in a line).
//! Every fact here is the *last* match inside that run, as
//! `SelectStringLastRunOfExchangeSetup` and `TestEvaluatedSettingOrRule`
//! take it. Matching is case-insensitive where SetupLogReviewer's
//! `Select-String` is (the captured `AD_Prep_Reboot` log spells the rule
//! `IISURLRewriteNotInstalled`, the script `IisUrlRewriteNotInstalled`).
//!
//! Two deliberate differences from SetupLogReviewer: the setup version and
//! the logged-on user are taken from the last run, not from anywhere in the
//! file; and a last run shorter than 30 lines is still the last run (the
//! script falls back to the previous run then), because a rollout asks what
//! the run it started did, not why an older one failed.

use std::sync::LazyLock;

use regex::Regex;

use super::{Outcome, SetupContext};

/// One line, split into its prefix and text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    /// The whole line (without its line break), as SetupLogReviewer prints it.
    pub raw: &'a str,
    /// After `[stamp] [thread] `; the whole line for a continuation line.
    pub text: &'a str,
    /// `03/11/2021 11:42:38.0237`, absent on a continuation line.
    pub stamp: Option<&'a str>,
}

impl<'a> Line<'a> {
    pub fn of(raw: &'a str) -> Line<'a> {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match split_prefix(raw) {
            Some((stamp, text)) => Line {
                raw,
                text,
                stamp: Some(stamp),
            },
            None => Line {
                raw,
                text: raw,
                stamp: None,
            },
        }
    }
}

/// `[stamp] [thread] text` → `(stamp, text)`.
fn split_prefix(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix('[')?;
    let end = rest.find(']')?;
    let stamp = &rest[..end];
    if stamp.is_empty() || !stamp.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let after = rest[end + 1..].strip_prefix(" [")?;
    let close = after.find(']')?;
    if close == 0 || !after[..close].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let text = &after[close + 1..];
    Some((stamp, text.strip_prefix(' ').unwrap_or(text)))
}

/// What every run start line contains (the search key for it).
pub(super) const MARK: &str = "Starting Microsoft Exchange Server";

static RUN_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^Starting (Microsoft Exchange Server (?:\d{4}|Subscription Edition)) Setup\s*$",
    )
    .expect("valid regex")
});

/// The last run: its lines, the first being its start line.
pub(super) struct Run<'a> {
    pub lines: Vec<Line<'a>>,
}

/// Finds the last run start by searching backwards, so a large log is not
/// split into lines before the last run.
pub(super) fn last_run(text: &str) -> Option<Run<'_>> {
    let mut end = text.len();
    loop {
        let at = rfind_mark(&text.as_bytes()[..end])?;
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        if is_run_start(&text[line_start..line_end]) {
            let lines = text[line_start..].split('\n').map(Line::of).collect();
            return Some(Run { lines });
        }
        end = at;
    }
}

/// Whether a line (with its prefix) starts a run of setup.
pub(super) fn is_run_start(raw: &str) -> bool {
    RUN_START.is_match(Line::of(raw).text)
}

/// Where the last occurrence of [`MARK`] starts. Setup writes the run
/// start line in this exact case, so the search is case-sensitive (and
/// fast: the regex crate's literal search, forward, keeping the last).
pub(super) fn rfind_mark(hay: &[u8]) -> Option<usize> {
    static MARK_BYTES: LazyLock<regex::bytes::Regex> =
        LazyLock::new(|| regex::bytes::Regex::new(&regex::escape(MARK)).expect("valid regex"));
    MARK_BYTES.find_iter(hay).last().map(|m| m.start())
}

impl<'a> Run<'a> {
    pub fn started(&self) -> Option<&'a str> {
        self.lines[0].stamp
    }

    pub fn product(&self) -> Option<&'a str> {
        RUN_START
            .captures(self.lines[0].text)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str())
    }

    /// The last line of the run matching `re` (on the whole line, as
    /// `Select-String` does), with its index.
    pub fn last_match(&self, re: &Regex) -> Option<(usize, regex::Captures<'a>)> {
        self.lines
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, l)| re.captures(l.raw).map(|c| (i, c)))
    }

    /// Group 1 of the last line matching `re`.
    pub fn last_value(&self, re: &Regex) -> Option<String> {
        self.last_match(re)
            .and_then(|(_, c)| c.get(1).map(|m| m.as_str().trim().to_string()))
    }

    pub fn raw(&self, i: usize) -> &'a str {
        self.lines[i].raw
    }
}

/// One readiness evaluation: `Evaluated [Rule:X] … [Value:"True"] [ParentValue:…`.
#[derive(Debug, Clone)]
pub(super) struct Evaluation {
    kind: String,
    name: String,
    value: String,
}

/// `Evaluated [Rule:X] [HasException:False] [Value:"True"] [ParentValue:"<NULL>"] …`.
/// The value runs to the last `"] [ParentValue:` (the greedy `.+` of
/// `GetEvaluatedSettingOrRule`); an empty value counts as absent, as there.
fn evaluation(text: &str) -> Option<Evaluation> {
    let rest = text.strip_prefix("Evaluated [")?;
    let colon = rest.find(':')?;
    let close = rest.find(']')?;
    if close < colon {
        return None;
    }
    let start = rest.find("[Value:\"")? + "[Value:\"".len();
    let end = rest.rfind("\"] [ParentValue:")?;
    (end > start).then(|| Evaluation {
        kind: rest[..colon].to_string(),
        name: rest[colon + 1..close].to_string(),
        value: rest[start..end].to_string(),
    })
}

/// The facts of one run that the verdict, the JSON and the advice use.
pub(super) struct RunFacts {
    pub setup_version: Option<String>,
    pub installed_version: Option<String>,
    pub previous_version: Option<String>,
    pub mode: Option<String>,
    pub command_line_mode: Option<String>,
    pub user: Option<String>,
    /// `(rule, message)` of each `Failed [Rule:…]`, each rule once.
    pub failed_rules: Vec<(String, String)>,
    pub errors: Vec<String>,
    pub error_reference: Option<String>,
    /// Index of the line of the last `[ERROR-REFERENCE]`.
    pub error_reference_line: Option<usize>,
    evaluations: Vec<Evaluation>,
    succeeded: bool,
    ended: bool,
}

macro_rules! re {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pattern).expect("valid regex"));
    };
}

re!(SETUP_VERSION, r"(?i)Setup version: (.+)\.");
re!(LOGGED_ON_USER, r"(?i)Logged on user: (.+).");
re!(
    INSTALLED_VERSION,
    r"(?i)The locally installed version is (.+)\."
);
re!(
    BACKUP_VERSION,
    r"(?i)The backup copy of the previously installed version is '(.+)'\."
);
re!(
    INSTALLATION_MODE,
    r"(?i)The installation mode is set to: '(.+)'\."
);
re!(
    COMMAND_LINE_MODE,
    r"(?i)Command Line Parameter Name='mode', Value='(.+)'\."
);
re!(
    ERROR_REFERENCE,
    r"(?i)\[ERROR-REFERENCE\] Id=(.+) Component="
);
re!(
    SCHEMA_MASTER,
    r"(?i)Setup will attempt to use the Schema Master domain controller (.+)"
);
re!(
    SCHEMA_MASTER_SITE,
    r"(?i)on a computer in the domain (\w+) and site (.+), and wait for replication to complete"
);

const SUCCESS: &str = "The Exchange Server setup operation completed successfully.";
/// Lines that only a run that has ended (or is ending on a failure) writes.
const ENDINGS: [&str; 3] = [
    "The Exchange Server setup operation didn't complete.",
    "Setup is stopping now because of one or more critical errors.",
    "End of Setup",
];

impl RunFacts {
    pub fn of(run: &Run<'_>) -> RunFacts {
        let mut facts = RunFacts {
            setup_version: run.last_value(&SETUP_VERSION),
            installed_version: run.last_value(&INSTALLED_VERSION),
            previous_version: run.last_value(&BACKUP_VERSION),
            mode: run.last_value(&INSTALLATION_MODE),
            command_line_mode: run.last_value(&COMMAND_LINE_MODE),
            user: run.last_value(&LOGGED_ON_USER),
            failed_rules: Vec::new(),
            errors: Vec::new(),
            error_reference: None,
            error_reference_line: None,
            evaluations: Vec::new(),
            succeeded: false,
            ended: false,
        };
        if let Some((i, c)) = run.last_match(&ERROR_REFERENCE) {
            facts.error_reference = Some(c[1].trim().to_string());
            facts.error_reference_line = Some(i);
        }
        facts.scan(run);
        facts
    }

    /// One pass over the run for what is collected rather than looked up.
    fn scan(&mut self, run: &Run<'_>) {
        for (i, line) in run.lines.iter().enumerate() {
            if line.stamp.is_none() {
                continue;
            }
            let text = line.text;
            if let Some(rest) = text.strip_prefix("[ERROR]") {
                let error = error_text(rest.trim(), &run.lines[i + 1..]);
                if !error.is_empty() && !self.errors.contains(&error) {
                    self.errors.push(error);
                }
            } else if let Some(rest) = text.strip_prefix("Failed [Rule:") {
                let (rule, message) = rule_failure(rest);
                if !self.failed_rules.iter().any(|(r, _)| *r == rule) {
                    self.failed_rules.push((rule, message));
                }
            } else if let Some(e) = evaluation(text) {
                self.evaluations.push(e);
            } else if text.starts_with(SUCCESS) {
                self.succeeded = true;
            } else if ENDINGS.iter().any(|e| text.starts_with(e)) {
                self.ended = true;
            }
        }
    }

    /// The last evaluated value of a readiness rule or setting in the run
    /// (`TestEvaluatedSettingOrRule`); `kind` is `Rule` or `Setting`.
    pub fn evaluated(&self, kind: &str, name: &str) -> Option<&str> {
        self.evaluations
            .iter()
            .rev()
            .find(|e| e.kind.eq_ignore_ascii_case(kind) && e.name.eq_ignore_ascii_case(name))
            .map(|e| e.value.as_str())
    }

    /// Whether the rule or setting was evaluated `True` (PowerShell's `-eq`
    /// ignores case).
    pub fn is_true(&self, kind: &str, name: &str) -> bool {
        self.evaluated(kind, name)
            .is_some_and(|v| v.eq_ignore_ascii_case("True"))
    }

    pub fn is_false(&self, kind: &str, name: &str) -> bool {
        self.evaluated(kind, name)
            .is_some_and(|v| v.eq_ignore_ascii_case("False"))
    }

    /// Whether any evaluation of the rule in the run was `True`
    /// (`TestMultiEvaluatedSettingOrRule`).
    pub fn ever_true(&self, kind: &str, name: &str) -> bool {
        self.evaluations.iter().any(|e| {
            e.kind.eq_ignore_ascii_case(kind)
                && e.name.eq_ignore_ascii_case(name)
                && e.value.eq_ignore_ascii_case("True")
        })
    }

    pub fn outcome(&self) -> Outcome {
        if self.succeeded {
            Outcome::Succeeded
        } else if !self.failed_rules.is_empty() {
            Outcome::PrerequisitesFailed
        } else if !self.errors.is_empty() || self.ended {
            Outcome::Failed
        } else {
            Outcome::Running
        }
    }

    /// A build-to-build upgrade that finds the installed build already at
    /// the setup build: an earlier attempt copied the new files (ExSetup.exe
    /// included) and stopped before the roles were configured. Every
    /// re-run in the captures logs exactly this (e.g.
    /// `ExchangeSetup_FIPS_AccessDenied.log`: backup copy 15.1.1713.5,
    /// installed 15.1.2106.2, setup 15.1.2106.2).
    pub fn previous_attempt_incomplete(&self) -> bool {
        let b2b = self
            .mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("BuildToBuildUpgrade"));
        match (&self.installed_version, &self.setup_version) {
            (Some(installed), Some(setup)) if b2b => same_build(installed, setup),
            _ => false,
        }
    }

    pub fn context(&self, run: &Run<'_>) -> SetupContext {
        let schema_master = run.last_value(&SCHEMA_MASTER);
        SetupContext {
            user: self.user.clone(),
            server: self.setting("ComputerNameDnsFullyQualified"),
            domain: self
                .setting("ComputerNameDnsFullyQualified")
                .and_then(|s| second_label(&s)),
            ad_site: self.setting("SiteName"),
            schema_master_domain: schema_master.as_deref().and_then(second_label),
            schema_master,
            schema_master_site: run
                .last_match(&SCHEMA_MASTER_SITE)
                .map(|(_, c)| c[2].trim().to_string()),
            domain_controller: self.setting("DomainController"),
            domain_controller_site: self.setting("DomainControllerSiteName"),
        }
    }

    fn setting(&self, name: &str) -> Option<String> {
        self.evaluated("Setting", name).map(str::to_string)
    }
}

/// `Solo-E16A.Child.Solo.net` → `Child`: SetupLogReviewer's
/// `$serverFQDN.Split('.')[1]`.
fn second_label(fqdn: &str) -> Option<String> {
    fqdn.split('.')
        .nth(1)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Equal builds, compared part by part as numbers (`15.01.2106.002` is
/// `15.1.2106.2`), or as text when either is not a version.
fn same_build(a: &str, b: &str) -> bool {
    let parts =
        |s: &str| -> Option<Vec<u64>> { s.trim().split('.').map(|p| p.parse().ok()).collect() };
    match (parts(a), parts(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

/// `X] [Message:M]` → `(X, M)`.
fn rule_failure(rest: &str) -> (String, String) {
    let (rule, after) = rest.split_once(']').unwrap_or((rest, ""));
    let message = after
        .trim_start()
        .strip_prefix("[Message:")
        .map(|m| m.trim_end().strip_suffix(']').unwrap_or(m).trim())
        .unwrap_or("");
    (rule.trim().to_string(), message.to_string())
}

/// The text of one `[ERROR]` entry. A single line is taken whole. A task
/// failure spans lines: `The following error was generated when
/// "$error.Clear(); <script lines>" was run: "<exception>` and a stack
/// trace; it is shortened to its first line, `…`, and the `was run:` line,
/// which holds the exception. Other continuations (an AD response, a stack
/// trace) are left out: setup repeats their message on a line of its own.
fn error_text(first: &str, after: &[Line<'_>]) -> String {
    let continuation = after.iter().take_while(|l| l.stamp.is_none());
    match continuation
        .map(|l| l.raw.trim())
        .find(|l| l.contains("\" was run: \""))
    {
        Some(run_line) => format!("{} … {run_line}", first.trim_end()),
        None => first.to_string(),
    }
}
