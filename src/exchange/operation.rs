//! Where an operation runs, and the one place a script's prelude is
//! written. Every template cu-roll sends is a [`Template`] made by the
//! `template!` macro, which opens it by its [`Placement`]: stop on the
//! first error and no progress records for all of them, plus the Exchange
//! snap-in for [`Placement::ExchangeSession`]. Rendering a template gives
//! an [`Operation`] (script + placement), and [`run`] is the one function
//! that sends one. This file owns no template and decides nothing.

use crate::exec::{ExecError, ExecOutput, Executor};
use crate::plan::Server;
use crate::ps::{Arg, Script};

/// Where an operation must run.
///
/// Today both placements run on the server being rolled, exactly alike but
/// for the snap-in. They are apart because Microsoft supports only Exchange
/// remote PowerShell for Exchange cmdlets, not a loaded snap-in (KB 2827611,
/// <https://learn.microsoft.com/exchange/troubleshoot/development/develop-apps-by-using-exchange-powershell>),
/// and inside a WinRM network logon the snap-in reaches Active Directory
/// without credentials (the second hop): the `ExchangeSession` operations
/// are the ones to send through an Exchange remote session instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Windows-level work on the server being rolled: services, the cluster
    /// node and groups, scheduled tasks, files, the registry, a reboot,
    /// Active Directory reads. It must run there.
    Target,
    /// Exchange cmdlets (today after `Add-PSSnapin` on the server being
    /// rolled). Any Exchange server of the organisation could run them.
    ExchangeSession,
}

/// A script template and where it runs. `text` already holds the prelude
/// its placement needs (see `template!`); holes are `{{name}}`.
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
        }
    }
}

/// A rendered script and where it must run: what observations and actions
/// send, and what the dry run prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub placement: Placement,
    pub script: Script,
}

impl Operation {
    /// A script rendered outside `exchange` that does Windows-level work
    /// (pre-flight's media check and Active Directory reads).
    pub fn on_target(script: Script) -> Operation {
        Operation {
            placement: Placement::Target,
            script,
        }
    }
}

/// Sends `op` for `server`. Both placements go to `server` itself for now;
/// this is the one function that will route an `ExchangeSession`
/// operation elsewhere.
pub fn run(exec: &dyn Executor, server: &Server, op: &Operation) -> Result<ExecOutput, ExecError> {
    match op.placement {
        Placement::Target | Placement::ExchangeSession => exec.run_ps(server, op.script.text()),
    }
}

/// Opens every script: stop on the first error, no progress records on
/// the wire.
macro_rules! prelude {
    () => {
        "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\n"
    };
}

/// A [`Template`] whose text opens with the prelude of its placement. The
/// Exchange snap-in is loaded here and nowhere else, for
/// `ExchangeSession` templates only (as Microsoft's own DAG scripts load
/// it, so the cmdlets run locally on the server over WinRM).
macro_rules! template {
    (Target, $($text:tt)+) => {
        $crate::exchange::Template {
            placement: $crate::exchange::Placement::Target,
            text: concat!(prelude!(), $($text)+),
        }
    };
    (ExchangeSession, $($text:tt)+) => {
        $crate::exchange::Template {
            placement: $crate::exchange::Placement::ExchangeSession,
            text: concat!(
                prelude!(),
                "Add-PSSnapin -Name 'Microsoft.Exchange.Management.PowerShell.SnapIn'\n",
                $($text)+
            ),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snap_in_is_loaded_for_exchange_session_templates_only() {
        const T: Template = template!(Target, "Get-Service\n");
        const E: Template = template!(ExchangeSession, "Get-MailboxServer\n");
        assert_eq!(
            T.text,
            "$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\nGet-Service\n"
        );
        assert!(E
            .text
            .contains("Add-PSSnapin -Name 'Microsoft.Exchange.Management.PowerShell.SnapIn'\nGet-MailboxServer\n"));
        assert!(!T.text.contains("Add-PSSnapin"));
        assert_eq!(E.render("t", &[]).placement, Placement::ExchangeSession);
    }
}
