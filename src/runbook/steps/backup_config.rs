//! The `backup-config` step: before anything on the server changes, its
//! config files go into a verified zip in the state directory (see
//! `crate::backup`), and the zip's path and sha256 are journaled. Done
//! when an earlier record of this rollout names a zip that still
//! verifies; a zip that no longer verifies is replaced. The rollout never
//! goes on without a verified backup: any failure stops the step.

use std::path::PathBuf;

use crate::backup::{self, BackupError, FetchOptions};
use crate::journal::Change;
use crate::plan::ResolvedTarget;
use crate::plan::{Plan, Server};

use super::super::{
    PlannedCommand, PlannedText, Step, StepContext, StepError, StepErrorKind, StepId, StepOutcome,
};

/// The step, with where backups go.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// The rollout's state directory (backups go to `<state_dir>/backups`).
    pub state_dir: PathBuf,
    pub fetch: FetchOptions,
}

impl BackupConfig {
    pub fn new(state_dir: PathBuf) -> BackupConfig {
        BackupConfig {
            state_dir,
            fetch: FetchOptions::default(),
        }
    }
}

fn step_error(server: &str, e: BackupError) -> StepError {
    match e {
        BackupError::Exec(x) => x.into(),
        BackupError::BadOutput { .. } => StepError::new(StepErrorKind::BadOutput, e.to_string()),
        BackupError::Corrupt { .. } => StepError::failed(format!(
            "the config backup of {server} did not verify after writing, so the rollout stops before \
             changing anything: {e}"
        )),
        other => StepError::failed(format!(
            "cannot back up the config files of {server}, so the rollout stops before changing anything: {other}"
        )),
    }
}

impl Step for BackupConfig {
    fn id(&self) -> StepId {
        StepId::BackupConfig
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutcome, StepError> {
        let name = ctx.server.name.clone();
        // Observe: the newest backup this rollout journaled for the server.
        let earlier = ctx.prior_changes.iter().rev().find_map(|c| match c {
            Change::ConfigBackedUp { zip, sha256, files } => {
                Some((zip.clone(), sha256.clone(), *files))
            }
            _ => None,
        });
        if let Some((zip, sha256, files)) = earlier {
            match backup::verify(std::path::Path::new(&zip)) {
                Ok(report) if report.sha256 == sha256 => {
                    return Ok(StepOutcome::AlreadyDone {
                        detail: format!("backup {zip} ({files} files) taken earlier still verifies"),
                    });
                }
                Ok(report) => ctx.events.observed(format!(
                    "the earlier backup {zip} now hashes to {}, not the journaled {sha256}; taking a new one",
                    report.sha256
                ))?,
                Err(e) => ctx
                    .events
                    .observed(format!("the earlier backup {zip} no longer verifies ({e}); taking a new one"))?,
            }
        }
        // Act: fetch, write, verify.
        ctx.events.progress("fetching config files");
        let state_dir =
            std::path::absolute(&self.state_dir).unwrap_or_else(|_| self.state_dir.clone());
        let result = backup::backup_server_with(ctx.exec, ctx.server, &state_dir, &self.fetch)
            .map_err(|e| step_error(&name, e))?;
        for w in &result.manifest.warnings {
            ctx.events.observed(format!("config backup: {w}"))?;
        }
        let zip = result.zip.display().to_string();
        let files = result.manifest.files.len();
        ctx.events.changed(Change::ConfigBackedUp {
            zip: zip.clone(),
            sha256: result.sha256.clone(),
            files,
        })?;
        Ok(StepOutcome::Done {
            detail: format!(
                "{files} config files saved to {zip} (sha256 {}), verified{}",
                result.sha256,
                match result.manifest.warnings.len() {
                    0 => String::new(),
                    n => format!("; {n} expected file(s) absent"),
                }
            ),
        })
    }

    fn scripts(
        &self,
        _plan: &Plan,
        _target: &ResolvedTarget,
        _server: &Server,
        _peers: &[&Server],
    ) -> Vec<PlannedCommand> {
        let example = r"C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\Owa\web.config";
        vec![
            PlannedCommand {
                when: "unless an earlier backup of this rollout still verifies: list the config files, with the bytes of each of at most the slice size"
                    .to_string(),
                command: PlannedText::PowerShell(backup::list_script(&self.fetch)),
            },
            PlannedCommand {
                when: format!(
                    "for each file listed larger than that (here the OWA web.config), once per slice of at most {} bytes",
                    self.fetch.chunk_bytes
                ),
                command: PlannedText::PowerShell(backup::chunk_script(example, 0, self.fetch.chunk_bytes)),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::commands::LabExecutor;
    use crate::runbook::{StepEvents, SystemClock};

    /// Records what the step reports, as the scheduler would journal it.
    #[derive(Default)]
    struct Recorder {
        changes: Vec<Change>,
        observed: Vec<String>,
    }

    impl StepEvents for Recorder {
        fn intent(
            &mut self,
            _: &[Change],
            _: Option<&crate::journal::Baseline>,
        ) -> Result<(), StepError> {
            Ok(())
        }
        fn changed(&mut self, change: Change) -> Result<(), StepError> {
            self.changes.push(change);
            Ok(())
        }
        fn observed(&mut self, what: String) -> Result<(), StepError> {
            self.observed.push(what);
            Ok(())
        }
        fn progress(&mut self, _: &str) {}
    }

    struct Fixture {
        plan: Plan,
        target: ResolvedTarget,
        exec: LabExecutor,
        state: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let plan = crate::plan::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap();
        let target =
            crate::plan::resolve_target(&plan, crate::catalog::Catalog::embedded()).unwrap();
        let state = tempfile::tempdir().unwrap();
        let exec = LabExecutor::for_plan(state.path(), &plan);
        Fixture {
            plan,
            target,
            exec,
            state,
        }
    }

    /// Runs the step on `server` with `prior` as the journaled changes.
    fn run(
        f: &Fixture,
        server: &str,
        prior: Vec<Change>,
    ) -> (Result<StepOutcome, StepError>, Recorder) {
        let step = BackupConfig::new(f.state.path().to_path_buf());
        let mut events = Recorder::default();
        let result = {
            let mut ctx = StepContext {
                plan: &f.plan,
                target: &f.target,
                server: f.plan.server(server).unwrap(),
                peers: Vec::new(),
                exec: &f.exec,
                exchange: super::super::testkit::reach(&f.exec, &f.plan),
                clock: &SystemClock,
                events: &mut events,
                prior_changes: prior,
                observed_before: None,
            };
            step.run(&mut ctx)
        };
        (result, events)
    }

    #[test]
    fn first_run_backs_up_and_journals_the_zip() {
        let f = fixture();
        let (result, events) = run(&f, "EX02", Vec::new());
        let outcome = result.unwrap();
        assert!(matches!(outcome, StepOutcome::Done { .. }), "{outcome:?}");
        let [Change::ConfigBackedUp { zip, sha256, files }] = events.changes.as_slice() else {
            panic!("one ConfigBackedUp change expected: {:?}", events.changes);
        };
        assert_eq!(*files, 26);
        assert_eq!(&backup::verify(Path::new(zip)).unwrap().sha256, sha256);
        assert!(outcome.detail().contains("26 config files"));
    }

    #[test]
    fn a_journaled_backup_that_still_verifies_is_already_done() {
        let f = fixture();
        let (_, first) = run(&f, "EX02", Vec::new());
        let (again, events) = run(&f, "EX02", first.changes.clone());
        assert!(matches!(again.unwrap(), StepOutcome::AlreadyDone { .. }));
        assert!(events.changes.is_empty());
    }

    #[test]
    fn a_journaled_backup_that_no_longer_verifies_is_taken_again() {
        let f = fixture();
        let (_, first) = run(&f, "EX02", Vec::new());
        let Change::ConfigBackedUp { zip, .. } = &first.changes[0] else {
            unreachable!()
        };
        let mut bytes = std::fs::read(zip).unwrap();
        let at = bytes.len() / 3;
        bytes[at] ^= 0xff;
        std::fs::write(zip, &bytes).unwrap();
        let (again, events) = run(&f, "EX02", first.changes.clone());
        assert!(matches!(again.unwrap(), StepOutcome::Done { .. }));
        assert!(
            events.observed[0].contains("no longer verifies"),
            "{:?}",
            events.observed
        );
        assert_eq!(events.changes.len(), 1);
    }

    #[test]
    fn an_unknown_server_stops_the_step() {
        let f = fixture();
        let step = BackupConfig::new(f.state.path().to_path_buf());
        let mut events = Recorder::default();
        let ghost = Server {
            name: "EX09".into(),
            fqdn: "ex09.contoso.local".into(),
            dag: None,
            redirect_to: None,
            address: None,
            port: None,
            edge: None,
        };
        let mut ctx = StepContext {
            plan: &f.plan,
            target: &f.target,
            server: &ghost,
            peers: Vec::new(),
            exec: &f.exec,
            exchange: super::super::testkit::reach(&f.exec, &f.plan),
            clock: &SystemClock,
            events: &mut events,
            prior_changes: Vec::new(),
            observed_before: None,
        };
        let err = step.run(&mut ctx).unwrap_err();
        assert!(err.message.contains("EX09"), "{err}");
        assert!(events.changes.is_empty());
    }

    #[test]
    fn scripts_list_the_listing_then_the_chunk_read() {
        let f = fixture();
        let step = BackupConfig::new(f.state.path().to_path_buf());
        let s = step.scripts(&f.plan, &f.target, f.plan.server("EX02").unwrap(), &[]);
        assert_eq!(s.len(), 2);
        let PlannedText::PowerShell(list) = &s[0].command else {
            panic!()
        };
        assert!(list.text().contains("Get-FileHash"));
        let PlannedText::PowerShell(chunk) = &s[1].command else {
            panic!()
        };
        assert!(chunk
            .text()
            .contains("[Convert]::ToBase64String($bytes, $offset, $count)"));
        assert!(s[1].when.contains("524288 bytes"));
    }
}
