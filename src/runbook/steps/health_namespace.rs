//! The last check of `health` when the plan names its client namespace
//! (`[rollout] namespace`): authenticated requests through the load
//! balancer, sent from the server once every other check passed
//! (`observe::read_namespace`). A 401 there after setup is the break
//! Extended Protection causes behind a load balancer that offloads TLS
//! (review real-exchange.md #9): the step fails, naming EP, offloading and
//! the ways out, and the rollout stops before the next member is taken
//! down. Owns that judgement; it changes nothing.

use crate::exchange::observe::{read_namespace, NamespaceObs};
use crate::plan::Plan;
use crate::runbook::{PlannedCommand, StepContext, StepError};

/// How many requests per path: one per Mailbox server of the plan, so a
/// round-robin load balancer reaches each (`observe::namespace`).
pub fn rounds(plan: &Plan) -> usize {
    plan.servers.iter().filter(|s| !s.is_edge()).count()
}

/// What is wrong with the answers, in words; empty = every logon was
/// accepted.
pub fn namespace_problems(namespace: &str, obs: &NamespaceObs) -> Vec<String> {
    let mut out = Vec::new();
    let refused: Vec<&str> = obs
        .answers
        .iter()
        .filter(|a| a.unauthorized())
        .map(|a| a.url.as_str())
        .collect();
    if !refused.is_empty() {
        let mut urls = refused.clone();
        urls.dedup();
        out.push(format!(
            "authenticated requests through the load balancer ({namespace}) are refused with 401 Unauthorized ({} of {}: {}). This server now runs Extended Protection, which does not work when the load balancer offloads TLS (Microsoft Learn, \"Configure Windows Extended Protection in Exchange Server\"): Outlook and EWS clients cannot log on through it. Fix it before going on: let the load balancer re-encrypt to the servers with the same certificate (SSL bridging), or configure Extended Protection as CSS-Exchange ExchangeExtendedProtectionManagement.ps1 does (e.g. turn it off on this server) and set [rollout] extended_protection = \"skip\" (setup /DoNotEnableEP) and tls_offloading = true for the other servers",
            refused.len(),
            obs.answers.len(),
            urls.join(", ")
        ));
    }
    for a in obs.answers.iter().filter(|a| a.unanswered()) {
        out.push(format!(
            "{} did not answer: {} (the namespace must resolve to the load balancer from the server; remove [rollout] namespace to skip this check)",
            a.url,
            a.error.as_deref().unwrap_or("no answer")
        ));
    }
    out
}

/// Sends the requests when the plan names a namespace; fails the step on
/// any problem. Returns what it checked, for the step's detail.
pub fn check(ctx: &mut StepContext<'_>) -> Result<Option<String>, StepError> {
    let Some(namespace) = ctx.plan.rollout.namespace.clone() else {
        return Ok(None);
    };
    let obs: NamespaceObs = ctx.query(&read_namespace(&namespace, rounds(ctx.plan)))?;
    let problems = namespace_problems(&namespace, &obs);
    if !problems.is_empty() {
        return Err(StepError::failed(format!(
            "{} is back in service but clients cannot use it: {}. The rollout stops here so no other member goes down",
            ctx.server.name,
            problems.join("; ")
        )));
    }
    Ok(Some(format!(
        "{} authenticated requests through {namespace} accepted",
        obs.answers.len()
    )))
}

/// The dry run's line, when the plan names a namespace.
pub fn planned(plan: &Plan) -> Option<PlannedCommand> {
    let namespace = plan.rollout.namespace.as_deref()?;
    Some(PlannedCommand::ps(
        "once every check passed, when [rollout] namespace is set: authenticated requests through the load balancer (a 401 fails: Extended Protection behind TLS offloading)",
        &read_namespace(namespace, rounds(plan)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_401_names_ep_offloading_and_the_fix() {
        let obs: NamespaceObs = serde_json::from_str(
            r#"{"Answers":[
            {"Url":"https://mail.contoso.local/EWS/Exchange.asmx","StatusCode":200,"Error":null},
            {"Url":"https://mail.contoso.local/EWS/Exchange.asmx","StatusCode":null,"Error":"The remote server returned an error: (401) Unauthorized."}]}"#,
        )
        .unwrap();
        let p = namespace_problems("mail.contoso.local", &obs);
        assert_eq!(p.len(), 1, "{p:?}");
        for word in [
            "401",
            "Extended Protection",
            "offloads TLS",
            "/DoNotEnableEP",
            "ExchangeExtendedProtectionManagement.ps1",
            "1 of 2",
        ] {
            assert!(p[0].contains(word), "{word}: {}", p[0]);
        }
        let ok: NamespaceObs = serde_json::from_str(
            r#"{"Answers":{"Url":"https://mail.contoso.local/EWS/Exchange.asmx","StatusCode":200,"Error":null}}"#,
        )
        .unwrap();
        assert!(namespace_problems("mail.contoso.local", &ok).is_empty());
    }
}
