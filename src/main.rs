//! The `cu-roll` binary: parse the command line, run, print the error (if
//! any) once on stderr, and exit with the code the library chose (see
//! `cu_roll::exit` and `cu_roll::Error::exit_code`).

fn main() {
    let cli = cu_roll::cli::parse();
    let code = match cu_roll::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            // Stamped like the run's other lines when stderr is a log.
            cu_roll::logging::say(&format!("cu-roll: {e}"));
            e.exit_code()
        }
    };
    std::process::exit(code);
}
