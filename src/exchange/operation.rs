//! Where an operation runs, and the one place a script's prelude and the
//! Exchange session around it are written. Every template cu-roll sends
//! is a [`Template`] made by the `template!` macro: a `Target` template
//! opens with the prelude (stop on the first error, no progress records);
//! an `ExchangeSession` template is the body alone, which
//! [`Operation::session_script`] places inside the Exchange remote session
//! (prelude, credential from stdin, `New-PSSession`, `Import-PSSession` of
//! exactly the Exchange cmdlets the body calls, `Remove-PSSession`).
//! This file owns no template, sends nothing and decides nothing.

use crate::ps::{Arg, Script};

/// Opens every script: stop on the first error, no progress records on
/// the wire.
macro_rules! prelude {
    () => {
        "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
    };
}

/// A [`Template`]: a `Target` one opens with the prelude; an
/// `ExchangeSession` one is its body alone (the session wrapper, with the
/// prelude, is added when it is sent). No template loads the Exchange
/// snap-in.
macro_rules! template {
    (Target, $($text:tt)+) => {
        $crate::exchange::Template {
            placement: $crate::exchange::Placement::Target,
            text: concat!(prelude!(), $($text)+),
        }
    };
    (TargetWithCredential, $($text:tt)+) => {
        $crate::exchange::Template {
            placement: $crate::exchange::Placement::TargetWithCredential,
            text: concat!($($text)+),
        }
    };
    (ExchangeSession, $($text:tt)+) => {
        $crate::exchange::Template {
            placement: $crate::exchange::Placement::ExchangeSession,
            text: concat!($($text)+),
        }
    };
}

/// Where an operation must run.
///
/// Microsoft supports Exchange cmdlets only through Exchange remote
/// PowerShell, not a snap-in loaded in a remote shell (KB 2827611,
/// <https://learn.microsoft.com/exchange/troubleshoot/development/develop-apps-by-using-exchange-powershell>),
/// and inside a WinRM network logon a loaded snap-in reaches Active
/// Directory without credentials (the second hop, Microsoft Learn "Making
/// the second hop in PowerShell Remoting"). So Exchange cmdlets run in an
/// Exchange remote session opened with an explicit credential, and only
/// Windows-level work runs in the shell on the server being rolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Windows-level work on the server being rolled: services, the cluster
    /// node and groups, scheduled tasks, files, the registry, a reboot,
    /// Active Directory reads. It must run there. No Exchange cmdlet, no
    /// Active Directory call (the second hop: no credential to present).
    Target,
    /// Windows-level work on the server being rolled that needs the
    /// admin's credential: Active Directory reads (`-Credential
    /// $credential`, Microsoft Learn "Making the second hop in PowerShell
    /// Remoting": pass credentials explicitly) and scheduled tasks
    /// registered with it (a task's batch logon holds it: setup, and
    /// Microsoft's DAG scripts, which load the snap-in themselves). The
    /// body is sent after a head that builds `$credential` from the secret
    /// on stdin ([`Operation::credential_script`]).
    TargetWithCredential,
    /// Exchange cmdlets, run in an Exchange remote session
    /// (`http://<peer>/PowerShell/`) opened from a WinRM shell on an
    /// Exchange peer in service (`exchange::Reach` picks it); `-Identity`
    /// and `-Server` in the body name the server being rolled.
    ExchangeSession,
}

/// A script template and where it runs. For `Target`, `text` already
/// holds the prelude (see `template!`); for `ExchangeSession` it is the
/// body the session wrapper surrounds. Holes are `{{name}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    pub placement: Placement,
    pub text: &'static str,
}

impl Template {
    /// Fills the holes (quoted literals only, see `ps::Script::render`).
    pub fn render(&self, purpose: &'static str, args: &[(&str, Arg<'_>)]) -> Operation {
        Operation {
            placement: self.placement,
            script: Script::render(purpose, self.text, args),
            timeout: None,
        }
    }

    /// The Exchange cmdlets this template's body calls (what the session
    /// imports); empty for `Target` templates.
    pub fn exchange_cmdlets(&self) -> Vec<&'static str> {
        exchange_cmdlets_in(self.text)
    }
}

/// A rendered script and where it must run: what observations and actions
/// send, and what the dry run prints. For `ExchangeSession`, `script` is
/// the body; [`Operation::session_script`] gives what is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub placement: Placement,
    pub script: Script,
    /// How long the command may run before the transport stops it; `None`
    /// is the plan's `[connection] operation_timeout`, right for the short
    /// reads and writes. A command that waits for something slow (a
    /// service restart, explicit database moves, a task it waits for) sets
    /// its own (review real-exchange.md #4: one 60 s limit killed them).
    pub timeout: Option<std::time::Duration>,
}

impl Operation {
    /// A script rendered outside `exchange` that does Windows-level work
    /// (pre-flight's media check and Active Directory reads).
    pub fn on_target(script: Script) -> Operation {
        Operation {
            placement: Placement::Target,
            script,
            timeout: None,
        }
    }

    /// The same operation allowed to run for `timeout`.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Operation {
        self.timeout = Some(timeout);
        self
    }

    /// This operation with every read and write of an AD-held setting
    /// (the templates' [`DC_MARKER`]s) sent to domain controller `dc` with
    /// `-DomainController`, or without the parameter when `dc` is `None`
    /// (`exchange::pin`; review real-exchange.md #23).
    pub fn pinned(&self, dc: Option<&str>) -> Operation {
        Operation {
            script: self
                .script
                .with_optional_parameter(DC_MARKER, "DomainController", dc),
            ..self.clone()
        }
    }

    /// Whether the body reads or writes a setting it can pin to a domain
    /// controller.
    pub fn pinnable(&self) -> bool {
        self.script.text().contains(DC_MARKER)
    }

    /// The script sent for an `ExchangeSession` operation: the contract's
    /// exact shape (Microsoft Learn "Connect to Exchange servers using
    /// remote PowerShell": `New-PSSession -ConfigurationName
    /// Microsoft.Exchange -ConnectionUri http://<fqdn>/PowerShell/
    /// -Authentication Kerberos -Credential …`, then `Import-PSSession`).
    /// The credential's secret is read from the first line of stdin (base64
    /// of UTF-8), never written here; `user` and `peer_fqdn` are quoted
    /// literals. `-CommandName` lists the Exchange cmdlets the body calls,
    /// so nothing else is imported. The body runs in the local
    /// powershell.exe on deserialized results (the session's own runspace
    /// is in no-language mode since KB5001779: only the imported proxies
    /// are called there).
    pub fn session_script(&self, peer_fqdn: &str, user: &str) -> Script {
        let body = self.pinned(None).script;
        let cmdlets = exchange_cmdlets_in(body.text());
        let head = session_head(body.purpose, peer_fqdn, user, &cmdlets);
        Script::around(head, &body, SESSION_TAIL)
    }

    /// The script sent for a `TargetWithCredential` operation: the
    /// prelude, `$credential` (PSCredential of `user`) built from the
    /// secret on stdin as in the session head, then the body. The secret
    /// is in no script text and no cmdlet parameter.
    pub fn credential_script(&self, user: &str) -> Script {
        let head = Script::render(
            self.script.purpose,
            CREDENTIAL_HEAD,
            &[("user", Arg::Str(user))],
        );
        Script::around(head, &self.script, "")
    }

    /// The script sent for an `ExchangeSession` operation about an Edge
    /// Transport server: the prelude, the Exchange snap-in loaded in the
    /// shell on the Edge server itself, then the body. An Edge server has
    /// no Exchange remote PowerShell (no `/PowerShell` endpoint) and is in
    /// no domain, so its cmdlets exist only in a local Exchange shell:
    /// CSS-Exchange `Shared/Confirm-ExchangeShell.ps1` (MIT) tells an Edge
    /// server by `HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\EdgeTransportRole`
    /// and loads the snap-in there instead of `Connect-ExchangeServer`. The
    /// cmdlets read the Edge server's own AD LDS instance, so the second
    /// hop (which rules the snap-in out on a Mailbox server) does not
    /// arise. The only exception to the remote-session rule (issue 9).
    /// `-DomainController` is not sent there: "The DomainController
    /// parameter isn't supported on Edge Transport servers" (Microsoft
    /// Learn, Get-ServerComponentState).
    pub fn edge_shell_script(&self) -> Script {
        let body = self.pinned(None).script;
        let head = Script::render(body.purpose, EDGE_SHELL_HEAD, &[]);
        Script::around(head, &body, "")
    }

    /// What the dry run shows for this operation: a `Target` script as
    /// sent; the others with their head, the peer and the account named
    /// by what decides them at run time.
    pub fn shown(&self) -> Script {
        match self.placement {
            Placement::Target => self.script.clone(),
            Placement::TargetWithCredential => self.credential_script("<[connection] user>"),
            Placement::ExchangeSession => self
                .pinned(Some(SHOWN_DC))
                .session_script("<an Exchange peer in service>", "<[connection] user>"),
        }
    }
}

/// Where a template reads or writes an AD-held setting of the server it
/// is about: a PowerShell comment (harmless if ever sent as it is) that
/// [`Operation::pinned`] turns into ` -DomainController '<dc>'`. Every
/// cmdlet carrying it has the parameter (Microsoft Learn:
/// Set-ServerComponentState, Get-ServerComponentState, Set-MailboxServer,
/// Get-MailboxServer); a test keeps it off any other.
pub const DC_MARKER: &str = "<#DomainController#>";

/// What the dry run shows for the pinned domain controller.
const SHOWN_DC: &str = "<the domain controller chosen for the server>";

/// The session wrapper's head for `cmdlets`, opened to `peer_fqdn` as `user`.
fn session_head(purpose: &'static str, peer_fqdn: &str, user: &str, cmdlets: &[&str]) -> Script {
    let uri = format!("http://{peer_fqdn}/PowerShell/");
    Script::render(
        purpose,
        SESSION_HEAD,
        &[
            ("user", Arg::Str(user)),
            ("uri", Arg::Str(&uri)),
            ("commands", Arg::List(cmdlets)),
        ],
    )
}

/// `cu-roll exec --exchange`: the admin's own `command` in the same
/// session wrapper, importing the command's first word (the cmdlet it
/// calls) and any of [`EXCHANGE_CMDLETS`] it names. The command is the
/// admin's text, as `exec --ps` sends it.
pub fn session_text_for_command(peer_fqdn: &str, user: &str, command: &str) -> String {
    let mut cmdlets: Vec<&str> = command.split_whitespace().take(1).collect();
    for c in exchange_cmdlets_in(command) {
        if !cmdlets.iter().any(|x| x.eq_ignore_ascii_case(c)) {
            cmdlets.push(c);
        }
    }
    let head = session_head("cu-roll exec --exchange", peer_fqdn, user, &cmdlets);
    format!("{}{}\n{SESSION_TAIL}", head.text(), command.trim_end())
}

/// `cu-roll exec --exchange` on an Edge Transport server: the admin's
/// `command` after the local snap-in head ([`Operation::edge_shell_script`]).
pub fn edge_shell_text_for_command(command: &str) -> String {
    format!("{EDGE_SHELL_HEAD}{}\n", command.trim_end())
}

/// The credential from the secret's stdin line (base64 of UTF-8): a
/// SecureString filled a character at a time, so no cmdlet takes the plain
/// text (ConvertTo-SecureString -AsPlainText would, and 4103 logs it).
macro_rules! credential_lines {
    () => {
        r#"$secret = New-Object -TypeName System.Security.SecureString
foreach ($c in [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadLine())).ToCharArray()) { $secret.AppendChar($c) }
$secret.MakeReadOnly()
$credential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList {{user}}, $secret
"#
    };
}

/// The head of an `ExchangeSession` script sent to an Edge Transport
/// server ([`Operation::edge_shell_script`]).
const EDGE_SHELL_HEAD: &str = concat!(
    prelude!(),
    "Add-PSSnapin -Name 'Microsoft.Exchange.Management.PowerShell.E2010'\n"
);

/// The head of a `TargetWithCredential` script.
const CREDENTIAL_HEAD: &str = concat!(prelude!(), credential_lines!());

/// The session wrapper's head (the contract's shape). In a long-lived
/// PowerShell host (`exec::winrm::host`, which sets
/// `$global:CuRollKeepSession`) the session is opened once and kept in
/// `$global:CuRollExchangeSession` for the host's next requests, opened
/// again when it is no longer `Opened` (Microsoft Learn, "PSSession.State
/// / RunspaceState": Broken after the connection is lost) or was opened
/// to another URI. The credential's line is read first in every case, so
/// it is never left on stdin.
///
/// Imports in a host: every `Import-PSSession` creates a temporary module
/// of proxy functions in the process (Microsoft Learn, Import-PSSession:
/// the imported commands go into a temporary module that exists only in
/// the session; implicit-remoting modules are named `tmp_*`), fetching
/// the commands' metadata from the server each time. A host that imported
/// on every request would pay that on every call and pile up modules, so
/// a host imports only the commands it has not imported into this
/// session yet (`$global:CuRollImported`, emptied when the session is
/// opened again), and makes each import's module global (`Import-Module
/// -ModuleInfo … -Global`; Microsoft Learn, Import-Module: `-Global`
/// imports into the global session state, "available to all commands in
/// the session"), since a request runs as a script block of its own and
/// what a script block imports may not outlive it (UNVERIFIED for
/// Import-PSSession's module). It still re-imports any command whose proxy
/// `Get-Command` cannot see rather than trust the list. A per-call process
/// imports what its body uses, as before.
const SESSION_HEAD: &str = concat!(
    prelude!(),
    credential_lines!(),
    r#"$session = $global:CuRollExchangeSession
if ($null -eq $session -or $session.State -ne 'Opened' -or $global:CuRollExchangeUri -ne {{uri}}) {
$session = New-PSSession -ConfigurationName 'Microsoft.Exchange' -ConnectionUri {{uri}} -Authentication 'Kerberos' -Credential $credential
if ($global:CuRollKeepSession) { $global:CuRollExchangeSession = $session; $global:CuRollExchangeUri = {{uri}}; $global:CuRollImported = @() }
}
try {
$commands = @({{commands}})
if ($global:CuRollKeepSession) { $commands = @($commands | Where-Object { $global:CuRollImported -notcontains $_ -or -not (Get-Command -Name $_ -CommandType Function -ErrorAction SilentlyContinue) }) }
if ($commands.Count -gt 0) {
$module = Import-PSSession -Session $session -CommandName $commands -DisableNameChecking -AllowClobber
if ($global:CuRollKeepSession) { Import-Module -ModuleInfo $module -Global -DisableNameChecking; $global:CuRollImported += $commands }
}
"#
);

/// The session wrapper's tail: the session is removed however the body
/// ended, unless a long-lived host keeps it.
const SESSION_TAIL: &str =
    "} finally {\nif (-not $global:CuRollKeepSession) { Remove-PSSession -Session $session }\n}\n";

/// Every Exchange cmdlet cu-roll calls (cmdlets.md). An `ExchangeSession`
/// body imports those it names; a `Target` body names none (a test checks
/// both against every template).
pub const EXCHANGE_CMDLETS: &[&str] = &[
    "Get-ServerComponentState",
    "Set-ServerComponentState",
    "Get-MailboxServer",
    "Set-MailboxServer",
    "Get-MailboxDatabaseCopyStatus",
    "Resume-MailboxDatabaseCopy",
    "Move-ActiveMailboxDatabase",
    "Get-MailboxDatabase",
    "Get-DatabaseAvailabilityGroup",
    "Get-ExchangeServer",
    "Get-Queue",
    "Retry-Queue",
    "Resume-Queue",
    "Get-UMActiveCalls",
    "Redirect-Message",
    "Test-ServiceHealth",
    "Test-MAPIConnectivity",
    "Test-ReplicationHealth",
    "Get-ExchangeCertificate",
    "Get-AuthConfig",
    "Get-OwaVirtualDirectory",
    "Get-EcpVirtualDirectory",
    "Get-WebServicesVirtualDirectory",
    "Get-ActiveSyncVirtualDirectory",
    "Get-OabVirtualDirectory",
    "Get-MapiVirtualDirectory",
    "Get-AutodiscoverVirtualDirectory",
    "Get-OutlookAnywhere",
    "Get-EdgeSubscription",
    "Test-EdgeSynchronization",
];

/// The Exchange cmdlets `text` calls, in [`EXCHANGE_CMDLETS`] order: a
/// name counts where it stands as a whole word (not inside a longer name).
pub fn exchange_cmdlets_in(text: &str) -> Vec<&'static str> {
    EXCHANGE_CMDLETS
        .iter()
        .copied()
        .filter(|name| {
            text.match_indices(name).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + name.len()..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-');
                !word(before) && !word(after)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_session_templates_are_bodies_and_no_template_loads_the_snap_in() {
        const T: Template = template!(Target, "Get-Service\n");
        const E: Template = template!(ExchangeSession, "Get-MailboxServer\n");
        assert_eq!(
            T.text,
            "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\nGet-Service\n"
        );
        assert_eq!(E.text, "Get-MailboxServer\n");
        assert_eq!(E.render("t", &[]).placement, Placement::ExchangeSession);
        assert_eq!(E.exchange_cmdlets(), vec!["Get-MailboxServer"]);
        assert!(T.exchange_cmdlets().is_empty());
    }

    #[test]
    fn the_session_script_has_the_contracts_shape() {
        const E: Template = template!(
            ExchangeSession,
            "Get-ServerComponentState -Identity {{server}} | ForEach-Object { $_.State.ToString() }\nGet-MailboxServer -Identity {{server}}\n"
        );
        let op = E.render("t", &[("server", Arg::Str("EX02"))]);
        let s = op.session_script("ex01.contoso.local", "CONTOSO\\admin");
        let expected = "$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$secret = New-Object -TypeName System.Security.SecureString
foreach ($c in [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadLine())).ToCharArray()) { $secret.AppendChar($c) }
$secret.MakeReadOnly()
$credential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList 'CONTOSO\\admin', $secret
$session = $global:CuRollExchangeSession
if ($null -eq $session -or $session.State -ne 'Opened' -or $global:CuRollExchangeUri -ne 'http://ex01.contoso.local/PowerShell/') {
$session = New-PSSession -ConfigurationName 'Microsoft.Exchange' -ConnectionUri 'http://ex01.contoso.local/PowerShell/' -Authentication 'Kerberos' -Credential $credential
if ($global:CuRollKeepSession) { $global:CuRollExchangeSession = $session; $global:CuRollExchangeUri = 'http://ex01.contoso.local/PowerShell/'; $global:CuRollImported = @() }
}
try {
$commands = @('Get-ServerComponentState', 'Get-MailboxServer')
if ($global:CuRollKeepSession) { $commands = @($commands | Where-Object { $global:CuRollImported -notcontains $_ -or -not (Get-Command -Name $_ -CommandType Function -ErrorAction SilentlyContinue) }) }
if ($commands.Count -gt 0) {
$module = Import-PSSession -Session $session -CommandName $commands -DisableNameChecking -AllowClobber
if ($global:CuRollKeepSession) { Import-Module -ModuleInfo $module -Global -DisableNameChecking; $global:CuRollImported += $commands }
}
Get-ServerComponentState -Identity 'EX02' | ForEach-Object { $_.State.ToString() }
Get-MailboxServer -Identity 'EX02'
} finally {
if (-not $global:CuRollKeepSession) { Remove-PSSession -Session $session }
}
";
        assert_eq!(s.text(), expected);
        assert!(lab::pwsh::syntax_check(s.text()).is_ok());
        assert_eq!(s.purpose, "t");
    }

    #[test]
    fn a_cmdlet_counts_only_as_a_whole_name() {
        assert_eq!(
            exchange_cmdlets_in("Get-MailboxDatabaseCopyStatus -Server $s"),
            vec!["Get-MailboxDatabaseCopyStatus"]
        );
        assert!(exchange_cmdlets_in("Get-QueueDigest").is_empty());
    }
}
