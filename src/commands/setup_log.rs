//! `cu-roll setup-log FILE`: reads the last run of a setup log (only the
//! tail of a large file) and prints its review as a table or JSON. Exit 0
//! whenever the file was read and judged, whatever the verdict; exit 2 when
//! it cannot be read or holds no run of setup.

use std::fs::File;

use super::output;
use crate::cli::{SetupLogArgs, SetupLogFormat};
use crate::error::Error;
use crate::exit::Outcome;
use crate::setup_log::{review, table, tail};

pub(super) fn run(args: &SetupLogArgs) -> Result<Outcome, Error> {
    let path = &args.file;
    let unreadable = |source: std::io::Error| Error::SetupLogUnreadable {
        path: path.clone(),
        source,
    };
    let mut file = File::open(path).map_err(unreadable)?;
    if !file.metadata().map_err(unreadable)?.is_file() {
        return Err(Error::SetupLogNotAFile { path: path.clone() });
    }
    let (text, read) = tail::last_run_text(&mut file).map_err(unreadable)?;
    let Some(text) = text else {
        return Err(Error::NotASetupLog {
            path: path.clone(),
            read,
        });
    };
    let review = review(&text);
    let out = match args.format {
        SetupLogFormat::Table => table::render(&review),
        SetupLogFormat::Json => {
            let mut json =
                serde_json::to_string_pretty(&review).expect("a review always serialises");
            json.push('\n');
            json
        }
    };
    output::stdout(&out)?;
    Ok(Outcome::Done)
}
