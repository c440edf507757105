//! `cu-roll setup-log FILE`: reads the last run of a setup log (only the
//! tail of a large file) and prints its review as a table or JSON. Exit 0
//! whenever the file was read and judged, whatever the verdict; exit 2 when
//! it cannot be read or holds no run of setup.

use std::fs::File;

use crate::cli::{SetupLogArgs, SetupLogFormat};
use crate::exit;
use crate::setup_log::{review, table, tail};

use super::{write_output, Failure};

pub(super) fn run(args: &SetupLogArgs) -> Result<i32, Failure> {
    let path = &args.file;
    let unreadable = |e: std::io::Error| {
        Failure::bad_input(format!(
            "cannot read the setup log {}: {e}. Give the path of a copy of ExchangeSetup.log (on the server: %SystemDrive%\\ExchangeSetupLogs\\ExchangeSetup.log)",
            path.display()
        ))
    };
    let mut file = File::open(path).map_err(unreadable)?;
    if !file.metadata().map_err(unreadable)?.is_file() {
        return Err(Failure::bad_input(format!(
            "{} is not a file: give the path of ExchangeSetup.log",
            path.display()
        )));
    }
    let (text, read) = tail::last_run_text(&mut file).map_err(unreadable)?;
    let Some(text) = text else {
        return Err(Failure::bad_input(format!(
            "{} is not an Exchange setup log: none of its {read} bytes is a line 'Starting Microsoft Exchange Server <2013|2016|2019|Subscription Edition> Setup'. Give the path of ExchangeSetup.log (on the server: %SystemDrive%\\ExchangeSetupLogs\\ExchangeSetup.log)",
            path.display()
        )));
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
    write_output(None, &out)?;
    Ok(exit::DONE)
}
