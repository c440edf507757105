//! Every script the report sends is snapshotted and parses under the real
//! PowerShell grammar.

use cu_roll::exchange::observe::{
    read_ad_levels, read_cluster_node_state, read_exchange_state, read_server_facts,
};
use cu_roll::preflight::{adprep, media};
use cu_roll::ps::Script;

/// Every script `cu-roll report` sends, rendered for a sample server
/// `EX01` as sent (an Exchange one inside its session, an AD read after
/// its credential head), named for snapshots and grammar checks.
fn scripts_for_report() -> Vec<(&'static str, Script)> {
    vec![
        ("report_server_facts", read_server_facts().shown()),
        // `report` pins no domain controller (only a rollout does).
        (
            "report_exchange_state",
            read_exchange_state("EX01").pinned(None).shown(),
        ),
        (
            "report_cluster_node_state",
            read_cluster_node_state("EX01").shown(),
        ),
        ("report_ad_levels", read_ad_levels().shown()),
        (
            "report_media",
            media::media_script_for(
                "D:\\Setup.exe",
                true,
                Some("C:\\Updates\\Exchange2019-CU15-Feb26SU.msp"),
                true,
            ),
        ),
        ("report_schema_master", adprep::schema_master_op().shown()),
    ]
}

#[test]
fn report_scripts_are_snapshots_and_parse_under_the_powershell_grammar() {
    for (name, script) in scripts_for_report() {
        if let Err(errors) = lab::pwsh::syntax_check(script.text()) {
            panic!("{name} does not parse: {errors:?}\n{}", script.text());
        }
        insta::assert_snapshot!(name, script.text());
    }
}
