//! `Get-UMActiveCalls` (Exchange 2013/2016 Unified Messaging): the calls in
//! progress on a server (`crate::um`), one object each. Reads only.
//! Microsoft Learn, Get-UMActiveCalls: `-Server`, `-DialPlan`,
//! `-IPGateway`, `-InstanceServer`, `-DomainController`; the lab answers
//! `-Server` (what ExchangeDsc's `Wait-ForUMToDrain` uses) and lists every
//! server's calls without it. A server without the UM service (Exchange
//! 2019) has none.

use super::exchange::select_servers;
use super::Answer;
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::host::{value, Argument, CmdletSpec, PsError};
use crate::pwsh::value::{PsObject, Value};

const GET_UM_ACTIVE_CALLS: CmdletSpec = CmdletSpec {
    name: "Get-UMActiveCalls",
    params: &[
        value("Server"),
        value("DialPlan"),
        value("IPGateway"),
        value("InstanceServer"),
        value("DomainController"),
    ],
    should_process: None,
};

pub(crate) fn dispatch(host: &mut ServerHost, lname: &str, args: &[Argument]) -> Answer {
    Some(match lname {
        "get-umactivecalls" => get_um_active_calls(host, args),
        _ => return None,
    })
}

fn get_um_active_calls(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_UM_ACTIVE_CALLS, args)?;
    let ids = select_servers(
        host,
        b.string("Server"),
        GET_UM_ACTIVE_CALLS.name,
        "UM.GetUMActiveCalls",
        true,
    )?;
    host.world.um_settle();
    let mut out = Vec::new();
    for i in ids {
        let s = &host.world.servers[i];
        for n in 0..s.um_calls {
            out.push(
                PsObject::new("Microsoft.Exchange.Management.UnifiedMessaging.UMActiveCall")
                    .with("CallId", format!("{}-call-{}", s.name, n + 1))
                    .with("CallState", "Connected")
                    .with("ServerId", s.name.clone())
                    .display(format!("{}-call-{}", s.name, n + 1))
                    .into(),
            );
        }
    }
    Ok(out)
}
