//! PowerShell remoting to Exchange's `/PowerShell` endpoint, as a script on
//! a lab server uses it (Microsoft Learn, "Connect to Exchange servers
//! using remote PowerShell"): `New-PSSession`, `Import-PSSession`,
//! `Invoke-Command -Session`, `Get-PSSession`, `Remove-PSSession`, and the
//! proxies an import creates. A proxy runs its cmdlet on the session's
//! server, inside the endpoint (AD reachable, `Logon::ExchangeEndpoint`),
//! and hands back deserialized objects (`deserialize.rs`);
//! `Invoke-Command` accepts only what a no-language runspace accepts
//! (`pwsh::nolanguage`, KB5001779). Sessions live as long as the script's
//! process, as real ones do. The second-hop rule and the list of Exchange
//! cmdlets are in `logon.rs`; this module must not act on the world except
//! through the cmdlets it proxies.

mod connect;
mod deserialize;
pub(crate) mod logon;
#[cfg(test)]
mod tests;

use crate::cmdlets::{missing_mandatory, string_list, wildcard, Answer};
use crate::host::ServerHost;
use crate::pwsh::bind::bind;
use crate::pwsh::convert::to_ps_string;
use crate::pwsh::credential::credential_parts;
use crate::pwsh::host::{positional, switch, value};
use crate::pwsh::host::{Argument, CmdletSpec, CommandHost, ErrorCategory, PsError};
use crate::pwsh::value::{PsObject, Value};
pub(crate) use logon::Logon;

/// One PSSession a script opened.
#[derive(Debug, Clone)]
struct Session {
    id: u32,
    name: String,
    /// Index of the lab server it connects to.
    server: usize,
    /// The host part of the URI, as the script wrote it.
    computer: String,
    runspace_id: String,
    open: bool,
    /// The domain controller its cmdlets use (`directory.rs`).
    dc: usize,
}

/// The remoting state of one script (one powershell.exe process).
#[derive(Debug, Default)]
pub(crate) struct State {
    sessions: Vec<Session>,
    /// Imported proxies: canonical cmdlet name → session id.
    imported: Vec<(&'static str, u32)>,
    next_id: u32,
    /// `Import-PSSession` runs so far: each makes a temporary module of
    /// proxies in the process (`Counts::imports`).
    imports: usize,
}

impl State {
    /// How many sessions the script opened (what `[lab.timings]
    /// exchange_session` charges).
    pub(crate) fn opened(&self) -> usize {
        // Ids count up from 1 per session opened (removed ones included).
        usize::try_from(self.next_id).unwrap_or(usize::MAX)
    }

    /// How many times the process ran `Import-PSSession`.
    pub(crate) fn imports(&self) -> usize {
        self.imports
    }

    /// The imported proxy named `name` (any case), the newest import
    /// first: its canonical cmdlet name and its session. What a call of
    /// the name runs, and what `Get-Command` finds (a function of a
    /// `tmp_*` module).
    pub(crate) fn proxy(&self, name: &str) -> Option<(&'static str, u32)> {
        self.imported
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .copied()
    }
}

const PSSESSION: &str = "System.Management.Automation.Runspaces.PSSession";

const NEW_PSSESSION: CmdletSpec = CmdletSpec {
    name: "New-PSSession",
    params: &[
        positional("ConnectionUri", 0),
        value("ConfigurationName"),
        value("Authentication"),
        value("Credential"),
        value("Name"),
        value("SessionOption"),
        switch("AllowRedirection"),
        value("ComputerName"),
    ],
    should_process: None,
};
const IMPORT_PSSESSION: CmdletSpec = CmdletSpec {
    name: "Import-PSSession",
    params: &[
        positional("Session", 0),
        positional("CommandName", 1),
        switch("DisableNameChecking"),
        switch("AllowClobber"),
    ],
    should_process: None,
};
const REMOVE_PSSESSION: CmdletSpec = CmdletSpec {
    name: "Remove-PSSession",
    params: &[positional("Session", 0), value("Id"), value("Name")],
    should_process: None,
};
const GET_PSSESSION: CmdletSpec = CmdletSpec {
    name: "Get-PSSession",
    params: &[positional("Name", 0), value("Id")],
    should_process: None,
};
const INVOKE_COMMAND: CmdletSpec = CmdletSpec {
    name: "Invoke-Command",
    params: &[
        positional("Session", 0),
        positional("ScriptBlock", 1),
        value("ArgumentList"),
        value("ComputerName"),
        switch("HideComputerName"),
    ],
    should_process: None,
};

/// The remoting cmdlets and imported proxies; `None` = not mine.
pub(crate) fn dispatch(
    host: &mut ServerHost,
    lname: &str,
    args: &[Argument],
    input: &[Value],
) -> Answer {
    Some(match lname {
        "new-pssession" => new_session(host, args),
        "import-pssession" => import(host, args),
        "remove-pssession" => remove(host, args),
        "get-pssession" => get(host, args),
        "invoke-command" => invoke_command(host, args),
        _ => {
            let (canon, sid) = host.remoting.proxy(lname)?;
            run_remote(host, sid, canon, args, input.to_vec())
        }
    })
}

fn session_value(s: &Session) -> Value {
    let state = if s.open { ("Opened", 2) } else { ("Closed", 3) };
    let availability = if s.open {
        ("Available", 1)
    } else {
        ("None", 0)
    };
    let mut o = PsObject::new(PSSESSION)
        .with("Id", i64::from(s.id))
        .with("Name", s.name.clone())
        .with("ComputerName", s.computer.clone())
        .with("ComputerType", "RemoteMachine")
        .with(
            "State",
            Value::enumv(
                "System.Management.Automation.Runspaces.RunspaceState",
                state.0,
                state.1,
            ),
        )
        .with("ConfigurationName", "Microsoft.Exchange")
        .with(
            "Availability",
            Value::enumv(
                "System.Management.Automation.Runspaces.RunspaceAvailability",
                availability.0,
                availability.1,
            ),
        )
        .with("InstanceId", s.runspace_id.clone())
        .with("Transport", "WSMan")
        .display(format!("[PSSession]{}", s.name));
    o.internal = Some(s.id.to_string());
    Value::object(o)
}

/// The lab ids of the sessions a `-Session` value holds.
fn session_ids(v: &Value) -> Vec<u32> {
    match v {
        Value::Array(a) => a.iter().flat_map(session_ids).collect(),
        Value::Object(o) if o.type_names.first().is_some_and(|t| t == PSSESSION) => o
            .internal
            .as_deref()
            .and_then(|i| i.parse().ok())
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

fn not_a_session(cmd: &str, v: &Value) -> PsError {
    PsError::new(
        ErrorCategory::InvalidArgument,
        &format!("CannotConvertArgumentNoMessage,Microsoft.PowerShell.Commands.{}Command", cmd.replace('-', "")),
        format!("Cannot bind parameter 'Session'. Cannot convert the \"{}\" value of type \"{}\" to type \"System.Management.Automation.Runspaces.PSSession\".", to_ps_string(v), crate::pwsh::type_of(v)),
    )
    .in_command(cmd)
    .terminating()
}

fn new_session(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&NEW_PSSESSION, args)?;
    let Some(uri) = b.string("ConnectionUri") else {
        return Err(PsError::new(
            ErrorCategory::NotImplemented,
            "LabNotSupported",
            "The lab's New-PSSession connects to Exchange only: -ConfigurationName Microsoft.Exchange -ConnectionUri http://<server fqdn>/PowerShell/.",
        )
        .in_command("New-PSSession")
        .terminating());
    };
    let Some((computer, is_exchange)) = connect::parse_uri(&uri) else {
        return Err(PsError::new(
            ErrorCategory::InvalidArgument,
            "ParameterArgumentValidationError,Microsoft.PowerShell.Commands.NewPSSessionCommand",
            format!("Cannot bind parameter 'ConnectionUri'. Cannot convert value \"{uri}\" to type \"System.Uri\"."),
        )
        .in_command("New-PSSession")
        .terminating());
    };
    let configuration = b.string("ConfigurationName").unwrap_or_default();
    let refused = if let Some(e) = connect::refusal(host.world, &computer) {
        Some(e)
    } else if !is_exchange || !configuration.eq_ignore_ascii_case("Microsoft.Exchange") {
        Some(connect::no_such_endpoint(&computer, &uri))
    } else if !credential_accepted(host, b.get("Credential"), b.string("Authentication")) {
        Some(connect::access_denied(&computer))
    } else {
        None
    };
    if let Some(e) = refused {
        host.write_error(e);
        return Ok(Vec::new());
    }
    let server = connect::server_of(host.world, &computer).unwrap_or(host.server);
    let st = &mut host.remoting;
    st.next_id += 1;
    let id = st.next_id;
    let session = Session {
        id,
        name: b.string("Name").unwrap_or_else(|| format!("WinRM{id}")),
        server,
        computer,
        runspace_id: format!(
            "{:08x}-{:04x}-4000-8000-{:012x}",
            host.now_ms.rem_euclid(1 << 32),
            id,
            server
        ),
        open: true,
        dc: host.world.session_dc(),
    };
    let v = session_value(&session);
    host.remoting.sessions.push(session);
    host.world.servers[server].exchange_sessions += 1;
    Ok(vec![v])
}

/// Whether the lab's domain accepts `credential` (the lab account's user
/// and password; `Kerberos`, `Negotiate` or `Default` authentication). No
/// `-Credential` means the logon's own: usable only where the process has
/// credentials to pass on (not in a network logon: the second hop).
fn credential_accepted(
    host: &ServerHost,
    credential: Option<&Value>,
    auth: Option<String>,
) -> bool {
    let auth_ok = auth.is_none_or(|a| {
        ["kerberos", "negotiate", "default"].contains(&a.to_ascii_lowercase().as_str())
    });
    let Some(credential) = credential else {
        return auth_ok && host.logon != Logon::Network;
    };
    let Some((user, password)) = credential_parts(credential) else {
        return false;
    };
    let Some((lab_user, lab_password)) = host.world.account.clone() else {
        return false;
    };
    auth_ok && same_account(&user, &lab_user) && password == lab_password
}

/// `CONTOSO\admin`, `admin@contoso.local` and `admin` name one account when
/// the user parts agree (the domain is the lab's only one).
fn same_account(a: &str, b: &str) -> bool {
    let user = |s: &str| {
        let s = s.rsplit('\\').next().unwrap_or(s);
        s.split('@').next().unwrap_or(s).to_ascii_lowercase()
    };
    user(a) == user(b)
}

fn session_of(host: &ServerHost, v: Option<&Value>, cmd: &str) -> Result<u32, PsError> {
    let v = v.ok_or_else(|| missing_mandatory(cmd, &["Session"]))?;
    let ids = session_ids(v);
    match ids.first() {
        Some(id) if host.remoting.sessions.iter().any(|s| s.id == *id) => Ok(*id),
        _ => Err(not_a_session(cmd, v)),
    }
}

fn import(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&IMPORT_PSSESSION, args)?;
    let sid = session_of(host, b.get("Session"), "Import-PSSession")?;
    let wanted = b.get("CommandName").map(string_list);
    let mut names: Vec<&'static str> = logon::EXCHANGE_CMDLETS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| {
            wanted
                .as_ref()
                .is_none_or(|w| w.iter().any(|p| wildcard(p, n)))
        })
        .collect();
    // Without -AllowClobber a proxy never hides a command the process has.
    if host.exchange_snapin && !b.switch("AllowClobber") {
        names.clear();
    }
    if names.is_empty() {
        return Err(PsError::new(
            ErrorCategory::InvalidOperation,
            "ErrorNoCommandsImportedBecauseOfSkipping,Microsoft.PowerShell.Commands.ImportPSSessionCommand",
            "No command proxies have been created, because all of the requested remote commands would shadow existing local commands.  Use the AllowClobber parameter if you want to shadow existing local commands.",
        )
        .in_command("Import-PSSession")
        .terminating());
    }
    for n in names {
        host.remoting.imported.push((n, sid));
    }
    host.remoting.imports += 1;
    let s = host.remoting.sessions.iter().find(|s| s.id == sid);
    // A module of its own per import, as each import makes one.
    let module = format!(
        "tmp_{}_{}",
        s.map_or("", |s| &s.runspace_id[..8]),
        host.remoting.imports
    );
    Ok(vec![Value::object(
        PsObject::new("System.Management.Automation.PSModuleInfo")
            .with("Name", module.clone())
            .with("ModuleType", "Script")
            .display(module),
    )])
}

fn remove(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&REMOVE_PSSESSION, args)?;
    let mut ids = b.get("Session").map(session_ids).unwrap_or_default();
    if let Some(id) = b.get("Id") {
        ids.extend(string_list(id).iter().filter_map(|i| i.parse::<u32>().ok()));
    }
    if let Some(n) = b.get("Name") {
        let names = string_list(n);
        ids.extend(
            host.remoting
                .sessions
                .iter()
                .filter(|s| names.iter().any(|p| wildcard(p, &s.name)))
                .map(|s| s.id),
        );
    }
    for s in &mut host.remoting.sessions {
        if ids.contains(&s.id) {
            s.open = false;
        }
    }
    host.remoting.sessions.retain(|s| s.open);
    Ok(Vec::new())
}

fn get(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&GET_PSSESSION, args)?;
    let names = b.get("Name").map(string_list);
    let ids: Option<Vec<String>> = b.get("Id").map(string_list);
    Ok(host
        .remoting
        .sessions
        .iter()
        .filter(|s| {
            names
                .as_ref()
                .is_none_or(|n| n.iter().any(|p| wildcard(p, &s.name)))
                && ids
                    .as_ref()
                    .is_none_or(|i| i.iter().any(|x| *x == s.id.to_string()))
        })
        .map(session_value)
        .collect())
}

fn invoke_command(host: &mut ServerHost, args: &[Argument]) -> Result<Vec<Value>, PsError> {
    let b = bind(&INVOKE_COMMAND, args)?;
    if b.get("Session").is_none() {
        return Err(PsError::new(
            ErrorCategory::NotImplemented,
            "LabNotSupported",
            "The lab's Invoke-Command runs in a session only: Invoke-Command -Session $session -ScriptBlock { ... }.",
        )
        .in_command("Invoke-Command")
        .terminating());
    }
    let sid = session_of(host, b.get("Session"), "Invoke-Command")?;
    let block = match b.get("ScriptBlock") {
        Some(Value::ScriptBlock(t)) => t.clone(),
        Some(other) => to_ps_string(other),
        None => return Err(missing_mandatory("Invoke-Command", &["ScriptBlock"])),
    };
    let (name, cmd_args) = crate::pwsh::nolanguage::single_command(&block)
        .map_err(|e| e.in_command("Invoke-Command"))?;
    run_remote(host, sid, &name, &cmd_args, Vec::new())
}

/// Runs `name` inside session `sid`'s endpoint on its server and returns
/// the output as the client receives it.
fn run_remote(
    host: &mut ServerHost,
    sid: u32,
    name: &str,
    args: &[Argument],
    input: Vec<Value>,
) -> Result<Vec<Value>, PsError> {
    let Some(s) = host.remoting.sessions.iter().find(|s| s.id == sid).cloned() else {
        return Err(PsError::new(
            ErrorCategory::InvalidOperation,
            "InvalidRunspaceState",
            format!("The session for the imported command '{name}' has been removed (Remove-PSSession); open a new session and import again."),
        )
        .in_command(name)
        .terminating());
    };
    if let Some(mut e) = connect::refusal(host.world, &s.computer) {
        e.command = Some(name.to_string());
        return Err(e.terminating());
    }
    // An Exchange session exports the Exchange cmdlets only.
    if logon::exchange_cmdlet(name).is_none() {
        return Err(PsError::command_not_found(name));
    }
    let server = host.world.servers[s.server].name.clone();
    let now = host.now_ms;
    let budget = host.remaining_budget();
    let mut remote =
        ServerHost::new(host.world, &server, now).map_err(|e| PsError::command_not_found(&e.0))?;
    remote.exchange_snapin = true;
    remote.logon = Logon::ExchangeEndpoint;
    remote.budget_ms = budget;
    remote.dc = Some(s.dc);
    // The endpoint on the peer logs what it runs, as any runspace does.
    remote.log_invocation(name, args, &input);
    let result = remote.invoke(name, args, input);
    let errors = remote.take_non_terminating();
    let (spent, killed) = (remote.spent_ms, remote.killed);
    host.errors.extend(errors);
    host.spend(spent);
    host.killed |= killed;
    result.map(|out| {
        out.iter()
            .map(|v| deserialize::output(v, &s.computer, &s.runspace_id))
            .collect()
    })
}
