//! What cu-roll reads about an Edge Transport server (docs/rollout.md,
//! "Edge Transport servers", with sources). On the Edge server itself, in
//! its local Exchange shell (`Operation::edge_shell_script`, chosen by
//! `exchange::run` for an Edge server): its components and queues, in the
//! shape `exchange_state` reads for a Mailbox server, without what only a
//! Mailbox server has (copies, activation policy, DAG: the Edge snap-in has
//! no such cmdlets). On a Mailbox server of the plan, in an Exchange remote
//! session: `Get-EdgeSubscription` (which Edge server is subscribed to which
//! AD site) and `Test-EdgeSynchronization -TargetServer` (Microsoft Learn:
//! "diagnose whether the subscribed Edge Transport servers have a current
//! and accurate synchronization status"). Reads only.

use serde::Deserialize;

use super::templates::{certificate_fields, components_read, queues_read};
use crate::exchange::{query_list, Operation, QueryError, Reach, Template};
use crate::plan::Server;
use crate::ps::Arg;

/// An Edge server's components and queues, in `ExchangeState`'s shape.
/// `Get-ServerComponentState` and `Get-Queue` are in the Edge snap-in
/// (Microsoft Learn lists both for Edge Transport servers); the Mailbox
/// fields are written empty. UNVERIFIED: no capture of an Edge server's
/// component list (Microsoft Learn's Set-ServerComponentState names
/// HubTransport and ServerWideOffline for every role).
pub const EDGE_STATE: Template = template!(
    ExchangeSession,
    "$server = {{server}}\n",
    components_read!(),
    queues_read!(),
    r#"[pscustomobject]@{
    Components = $components
    ActivationPolicy = ''
    ActivationDisabledAndMoveNow = $false
    DatabaseAvailabilityGroup = ''
    Copies = @()
    Queues = $queues
    QueuesError = $queuesError
} | ConvertTo-Json -Depth 5 -Compress
"#
);

/// Reads the components and queues of Edge server `server`.
pub fn read_edge_state(server: &str) -> Operation {
    EDGE_STATE.render(
        "reading the Edge server's components and queues (local Exchange shell)",
        &[("server", Arg::Str(server))],
    )
}

/// An Edge server's Exchange certificates, as `EXCHANGE_CERTIFICATES` reads
/// them without `Get-AuthConfig` (the Auth configuration is an object of
/// the organisation's AD, which an Edge server does not reach: UNVERIFIED
/// whether its snap-in has the cmdlet, so it is not sent).
pub const EDGE_CERTIFICATES: Template = template!(
    ExchangeSession,
    r#"$server = {{server}}
$now = Get-Date
$certificates = @(Get-ExchangeCertificate -Server $server | ForEach-Object {
    $c = $_
"#,
    certificate_fields!(),
    r#"    AuthCertificateThumbprint = ''
    Certificates = $certificates
} | ConvertTo-Json -Depth 3 -Compress
"#
);

/// Reads Edge server `server`'s Exchange certificates.
pub fn read_edge_certificates(server: &str) -> Operation {
    EDGE_CERTIFICATES.render(
        "reading the Edge server's Exchange certificates (local Exchange shell)",
        &[("server", Arg::Str(server))],
    )
}

/// The Edge subscriptions of the organisation, from a Mailbox server.
pub const EDGE_SUBSCRIPTIONS: Template = template!(
    ExchangeSession,
    r#"@(Get-EdgeSubscription | ForEach-Object {
    [pscustomobject]@{ Name = [string]$_.Name; Site = [string]$_.Site }
}) | ConvertTo-Json -Depth 3 -Compress
"#
);

/// What `EDGE_SUBSCRIPTIONS` prints per subscription.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct EdgeSubscriptionObs {
    pub name: String,
    #[serde(default)]
    pub site: String,
}

/// Every Edge subscription, read in a session on a Mailbox server
/// (`about` is a Mailbox server of the plan; its peer runs it).
pub fn edge_subscriptions(
    reach: &Reach<'_>,
    about: &Server,
) -> Result<Vec<EdgeSubscriptionObs>, QueryError> {
    query_list(
        reach,
        about,
        &EDGE_SUBSCRIPTIONS.render("reading the Edge subscriptions (Get-EdgeSubscription)", &[]),
    )
}

/// The synchronisation status of one subscribed Edge server, from a
/// Mailbox server: configuration only (`-ExcludeRecipientTest`: the
/// recipient comparison is long, and the configuration is what a CU
/// upgrade can break).
pub const EDGE_SYNC: Template = template!(
    ExchangeSession,
    r#"@(Test-EdgeSynchronization -TargetServer {{edge}} -ExcludeRecipientTest | ForEach-Object {
    [pscustomobject]@{ Name = [string]$_.Name; SyncStatus = [string]$_.SyncStatus }
}) | ConvertTo-Json -Depth 3 -Compress
"#
);

/// What `EDGE_SYNC` prints.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct EdgeSyncObs {
    pub name: String,
    #[serde(default)]
    pub sync_status: String,
}

/// `Test-EdgeSynchronization` for Edge server `edge`.
pub fn test_edge_sync(edge: &str) -> Operation {
    EDGE_SYNC.render(
        "testing the Edge subscription's synchronisation (Test-EdgeSynchronization, from a Mailbox server)",
        &[("edge", Arg::Str(edge))],
    )
}
