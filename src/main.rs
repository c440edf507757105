//! The `cu-roll` binary: parse the command line, run, exit with the code
//! the library chose (see `cu_roll::exit`).

use clap::Parser;

fn main() {
    let cli = cu_roll::cli::Cli::parse();
    std::process::exit(cu_roll::run(cli));
}
