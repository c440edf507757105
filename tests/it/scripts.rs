//! Every script the report sends is snapshotted and parses under the real
//! PowerShell grammar.

use cu_roll::exchange::scripts_for_report;

#[test]
fn report_scripts_are_snapshots_and_parse_under_the_powershell_grammar() {
    for (name, script) in scripts_for_report() {
        if let Err(errors) = lab::pwsh::syntax_check(script.text()) {
            panic!("{name} does not parse: {errors:?}\n{}", script.text());
        }
        insta::assert_snapshot!(name, script.text());
    }
}
