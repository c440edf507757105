//! The command line's shape: help text everywhere, the "did you mean",
//! `--log-format` only on `run`, and the generated completions and man page.

use super::*;

fn args(words: &[&str]) -> Vec<OsString> {
    std::iter::once("cu-roll")
        .chain(words.iter().copied())
        .map(OsString::from)
        .collect()
}

/// Every argument and option of every command, with the command's path.
fn every_arg(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
    for a in cmd.get_arguments() {
        out.push((path.to_string(), a.clone()));
    }
    for sub in cmd.get_subcommands() {
        every_arg(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

#[test]
fn every_argument_has_help_text() {
    let mut cmd = Cli::command();
    cmd.build();
    let mut all = Vec::new();
    every_arg(&cmd, "cu-roll", &mut all);
    let missing: Vec<String> = all
        .iter()
        .filter(|(_, a)| a.get_help().is_none() && a.get_long_help().is_none())
        .map(|(path, a)| format!("{path} {}", a.get_id()))
        .collect();
    assert!(all.len() > 30, "walked only {} arguments", all.len());
    assert_eq!(missing, Vec::<String>::new());
}

#[test]
fn a_mistyped_command_gets_a_suggestion_not_a_plan_error() {
    let err = mistyped_command(&args(&["repot", "plans/lab.toml"])).expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("'repot' is not a command or a plan file; did you mean 'report'?"),
        "{text}"
    );
    assert_eq!(err.exit_code(), crate::exit::BAD_INPUT);
    // Options before the word are skipped, with their values.
    let err = mistyped_command(&args(&["--state-dir", "/tmp/s", "statsu", "p.toml"]));
    assert!(err.unwrap().to_string().contains("did you mean 'status'?"));
}

#[test]
fn an_unlike_word_followed_by_more_words_lists_the_commands() {
    let text = mistyped_command(&args(&["frobnicate", "plans/lab.toml"]))
        .expect("refused")
        .to_string();
    assert!(
        text.contains("the commands are: run, report, status"),
        "{text}"
    );
}

#[test]
fn a_missing_plan_path_alone_is_left_to_the_plan_loader() {
    // `cu-roll q3.toml` with a typo in the file name: the plan loader's
    // "cannot read q3.toml" names the file, which says more.
    assert!(mistyped_command(&args(&["no-such-plan.toml"])).is_none());
    assert!(mistyped_command(&args(&["report", "no-such-plan.toml"])).is_none());
    assert!(mistyped_command(&args(&[])).is_none());
    // clap's own `help` is a command too.
    assert!(mistyped_command(&args(&["help", "report"])).is_none());
}

#[test]
fn completions_is_a_command_not_a_plan() {
    let cli = Cli::try_parse_from(args(&["completions", "bash"])).unwrap();
    assert!(matches!(
        cli.command,
        Some(Command::Completions {
            shell: clap_complete::Shell::Bash
        })
    ));
    let script = String::from_utf8(completions(clap_complete::Shell::Bash)).unwrap();
    assert!(script.contains("restore-config"), "{script}");
}

#[test]
fn the_man_page_names_every_command() {
    // roff writes a hyphen as `\-`.
    let page = String::from_utf8(man_page().unwrap())
        .unwrap()
        .replace("\\-", "-");
    assert!(page.starts_with(".ie"), "{}", &page[..80.min(page.len())]);
    for name in [
        "report",
        "status",
        "unlock",
        "restore-config",
        "completions",
    ] {
        assert!(page.contains(name), "{name} missing from the man page");
    }
}

#[test]
fn no_argument_at_all_shows_the_help() {
    let err = Cli::try_parse_from(args(&[])).unwrap_err();
    assert_eq!(
        err.kind(),
        clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
}

#[test]
fn log_format_is_run_only() {
    let cli = Cli::try_parse_from(args(&["run", "p.toml", "--log-format", "json"])).unwrap();
    let Some(Command::Run(run)) = cli.command else {
        panic!("not run")
    };
    assert_eq!(run.flags.log_format, LogFormat::Json);
    let cli = Cli::try_parse_from(args(&["--log-format", "json", "p.toml"])).unwrap();
    assert_eq!(cli.run_flags.log_format, LogFormat::Json);
    let err = Cli::try_parse_from(args(&["report", "p.toml", "--log-format", "json"]));
    assert!(
        err.is_err(),
        "report writes no log, so it takes no --log-format"
    );
}
