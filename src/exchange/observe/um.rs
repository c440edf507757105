//! Unified Messaging calls in progress on an Exchange 2016 server, read in
//! an Exchange session: `Get-UMActiveCalls -Server <server>`, counted.
//! ExchangeDsc's maintenance mode waits for this count to reach zero after
//! setting UMCallRouter Draining (`DSC_ExchMaintenanceMode.psm1`
//! `Wait-ForUMToDrain`, via `Get-UMActiveCallsInternal`, which calls the
//! cmdlet only on 2013 and 2016: Exchange 2019 has no UM). Nothing here
//! changes a server or decides anything.

use super::super::Operation;
use crate::ps::Arg;

/// How many calls are in progress on `{{server}}`, as one number.
pub const UM_ACTIVE_CALLS: crate::exchange::Template = template!(
    ExchangeSession,
    "@(Get-UMActiveCalls -Server {{server}}).Count\n"
);

pub fn read_um_active_calls(server: &str) -> Operation {
    UM_ACTIVE_CALLS.render(
        "Unified Messaging calls in progress (Get-UMActiveCalls)",
        &[("server", Arg::Str(server))],
    )
}
