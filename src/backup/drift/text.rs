//! The drift report as text, for the terminal and the run report:
//! presentation only, over the model in `drift`.

use super::{ChangeKind, DriftReport, FileStatus};

impl DriftReport {
    /// The report as text, for the terminal; `plan` is the plan's path as
    /// given, quoted in the command that puts a setting back.
    pub fn to_text(&self, plan: &str) -> String {
        let mut out = format!(
            "Config drift on {} since the backup {} (taken {})\n",
            self.server, self.backup, self.backup_created
        );
        if !self.baseline.is_empty() {
            out.push_str(&format!("  Compared with {}.\n", self.baseline));
        }
        let unchanged = self
            .files
            .iter()
            .filter(|f| f.status == FileStatus::Unchanged)
            .count();
        for f in self
            .files
            .iter()
            .filter(|f| f.status != FileStatus::Unchanged)
        {
            push_file(&mut out, f);
        }
        out.push_str(&format!("  {unchanged} file(s) unchanged.\n"));
        for w in &self.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        let reverted = self.reverted();
        if reverted.is_empty() {
            out.push_str("No customisation in the backup was reverted.\n");
        } else {
            let files: std::collections::BTreeSet<&str> =
                reverted.iter().map(|(f, _)| *f).collect();
            // The real key when there is only one to choose (review #17).
            let (one, key) = match reverted.as_slice() {
                [(_, setting)] => ("it", setting.key.as_str()),
                _ => ("one", "KEY"),
            };
            out.push_str(&format!(
                "Reverted since the backup: {} setting(s) in {} file(s). Re-apply {one} with \
                 `cu-roll restore-config {plan} --server {} --key {key}`.\n",
                reverted.len(),
                files.len(),
                self.server
            ));
        }
        out
    }
}

/// One changed, missing or new file: its status, note, settings and other changes.
fn push_file(out: &mut String, f: &super::FileDrift) {
    let status = match f.status {
        FileStatus::Changed => "changed",
        FileStatus::Missing => "missing now",
        FileStatus::New => "new since the backup",
        FileStatus::Unchanged => "unchanged",
    };
    out.push_str(&format!("  {}: {status}\n", f.entry));
    if let Some(note) = &f.note {
        out.push_str(&format!("    ({note})\n"));
    }
    if !f.app_settings.is_empty() {
        out.push_str("    appSettings:\n");
    }
    for s in &f.app_settings {
        let show = |v: &Option<String>| {
            v.as_ref()
                .map_or_else(|| "(absent)".to_string(), |v| format!("'{v}'"))
        };
        let tag = if s.reverted {
            "REVERTED"
        } else {
            match s.change {
                ChangeKind::Added => "added",
                ChangeKind::Removed => "removed",
                ChangeKind::Changed => "changed",
            }
        };
        out.push_str(&format!(
            "      {tag:<9} {}: {} -> {}\n",
            s.key,
            show(&s.old),
            show(&s.new)
        ));
    }
    let o = &f.other;
    if !o.is_empty() {
        out.push_str(&format!(
            "    other changes: {} element(s) added, {} removed, {} attribute(s) changed, {} text change(s)\n",
            o.elements_added, o.elements_removed, o.attributes_changed, o.text_changed
        ));
        const SHOWN: usize = 20;
        for l in o.locations.iter().take(SHOWN) {
            let sign = match l.change {
                ChangeKind::Added => '+',
                ChangeKind::Removed => '-',
                ChangeKind::Changed => '~',
            };
            let values = match (&l.old, &l.new) {
                (Some(a), Some(b)) => format!(": '{a}' -> '{b}'"),
                (Some(a), None) => format!(": was '{a}'"),
                (None, Some(b)) => format!(": '{b}'"),
                (None, None) => String::new(),
            };
            out.push_str(&format!("      {sign} {}{values}\n", l.xpath));
        }
        if o.locations.len() > SHOWN {
            out.push_str(&format!(
                "      … and {} more (see --format json)\n",
                o.locations.len() - SHOWN
            ));
        }
    }
}
