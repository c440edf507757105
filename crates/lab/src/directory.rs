//! Active Directory as the lab's Exchange settings live in it: the
//! domain's controllers (`[lab.ad] domain_controllers`), the replication
//! delay between them (`[lab.ad] replication_delay`), which controller an
//! Exchange remote session binds to, and what a read through one
//! controller sees of writes made through another. Owns the AD-held
//! settings' history only; the current (converged) value stays on the
//! `Server` (the rest of the lab, Active Manager included, reads that).
//!
//! The settings modelled are those Exchange keeps in AD and cu-roll writes
//! and reads back: a Mailbox server's `DatabaseCopyAutoActivationPolicy`
//! and `DatabaseCopyActivationDisabledAndMoveNow` (Set-MailboxServer), and
//! the `RemoteStates` of its server components (the AD half of
//! Set-ServerComponentState; `LocalStates` are the server's registry and
//! are seen at once). Replication: "When a domain controller writes a
//! change to its local copy of Active Directory, a timer is started that
//! determines when the domain controller's replication partners should be
//! notified of the change. By default, this interval is 15 seconds"
//! (Microsoft Learn, "How to modify the default intra-site domain
//! controller replication interval", KB 214678). The lab applies one delay
//! to every partner (the 3-second pause between partners is not modelled).
//!
//! Which controller a session uses: Exchange's AD driver picks one of the
//! controllers the server's topology service lists for its site; the lab
//! binds each new Exchange remote session to the next controller in turn
//! (round-robin). That choice is UNVERIFIED: no source settles which
//! controller a session without `-DomainController` uses, only that the
//! parameter "specifies the domain controller that's used by this cmdlet
//! to read data from or write data to Active Directory" (Microsoft Learn,
//! Set-ServerComponentState, Set-MailboxServer and the other cmdlets
//! cu-roll sends). This module must not decide anything about Exchange
//! itself (the cmdlets in `cmdlets::exchange` call it).

use serde::{Deserialize, Serialize};

use crate::components::RequesterEntry;
use crate::model::ActivationPolicy;
use crate::pwsh::host::{ErrorCategory, PsError};
use crate::world::World;

/// The default `[lab.ad] replication_delay`: the intra-site notification
/// delay of Windows Server 2003 and later (KB 214678, above).
pub fn default_replication_delay() -> std::time::Duration {
    std::time::Duration::from_secs(15)
}

/// One AD-held setting of one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Setting {
    ActivationPolicy,
    MoveNow,
    /// The `RemoteStates` of the named component.
    RemoteStates(String),
}

/// A setting's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettingValue {
    Policy(ActivationPolicy),
    Flag(bool),
    Entries(Vec<RequesterEntry>),
}

/// One write through one controller: the value before (the converged
/// value then) and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    /// Index into `LabAd::domain_controllers`.
    pub dc: usize,
    pub at_ms: i64,
    /// Index of the server the setting belongs to.
    pub server: usize,
    pub setting: Setting,
    pub before: SettingValue,
    pub after: SettingValue,
}

/// What the world keeps about AD: writes not yet replicated everywhere,
/// and the controller the next Exchange remote session binds to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub writes: Vec<Write>,
    pub next_session_dc: usize,
}

impl World {
    /// The domain's controllers (at least one: `dc01.<domain>`).
    pub fn domain_controllers(&self) -> Vec<String> {
        if self.ad.domain_controllers.is_empty() {
            vec![format!("dc01.{}", self.domain_dns())]
        } else {
            self.ad.domain_controllers.clone()
        }
    }

    /// The domain's DNS name (`contoso.local` from `DC=contoso,DC=local`).
    pub fn domain_dns(&self) -> String {
        self.ad
            .domain_dn
            .split(',')
            .filter_map(|p| p.trim().get(3..))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The controller a new Exchange remote session binds to: the next in
    /// turn (round-robin) that answers.
    pub(crate) fn session_dc(&mut self) -> usize {
        let dcs = self.domain_controllers();
        let n = dcs.len();
        let mut dc = self.directory.next_session_dc % n;
        for _ in 0..n {
            if !self.dc_unreachable(&dcs[dc]) {
                break;
            }
            dc = (dc + 1) % n;
        }
        self.directory.next_session_dc = (dc + 1) % n;
        dc
    }

    /// Whether controller `fqdn` does not answer (`[lab.ad]
    /// unreachable_domain_controllers`).
    fn dc_unreachable(&self, fqdn: &str) -> bool {
        self.ad
            .unreachable_domain_controllers
            .iter()
            .any(|d| d.eq_ignore_ascii_case(fqdn))
    }

    /// The controllers `Get-ExchangeServer -Status` lists as the server's
    /// `CurrentDomainControllers`: every controller, starting at a
    /// different one per server, an unreachable one included (which a real
    /// topology service lists, in what order, and how soon it drops one
    /// that stopped answering, is UNVERIFIED).
    pub fn current_domain_controllers(&self, server: usize) -> Vec<String> {
        let mut dcs = self.domain_controllers();
        let n = dcs.len();
        dcs.rotate_left(server % n);
        dcs
    }

    /// Records a write of `setting` of `server` through controller `dc`
    /// (`None`: a write that reaches every controller at once, e.g. the
    /// lab's own), forgetting writes replicated everywhere by now.
    pub(crate) fn record_write(
        &mut self,
        dc: Option<usize>,
        server: usize,
        setting: Setting,
        before: SettingValue,
        after: SettingValue,
    ) {
        let now = self.now_ms;
        let delay = self.replication_delay_ms();
        self.directory.writes.retain(|w| w.at_ms + delay > now);
        let Some(dc) = dc else {
            return;
        };
        if before == after || self.domain_controllers().len() < 2 {
            return;
        }
        self.directory.writes.push(Write {
            dc,
            at_ms: now,
            server,
            setting,
            before,
            after,
        });
    }

    fn replication_delay_ms(&self) -> i64 {
        i64::try_from(self.ad.replication_delay.as_millis()).unwrap_or(i64::MAX)
    }

    /// What a read of `setting` of `server` through controller `dc` sees
    /// now, `None` when it sees the current value: the newest write that
    /// has reached `dc` (made there, or older than the replication delay),
    /// else the value before the oldest write still travelling.
    pub(crate) fn seen_through(
        &self,
        dc: Option<usize>,
        server: usize,
        setting: &Setting,
    ) -> Option<SettingValue> {
        let dc = dc?;
        let now = self.now_ms;
        let delay = self.replication_delay_ms();
        let writes: Vec<&Write> = self
            .directory
            .writes
            .iter()
            .filter(|w| w.server == server && &w.setting == setting)
            .collect();
        let first = writes.first()?;
        let visible = writes
            .iter()
            .rev()
            .find(|w| w.dc == dc || w.at_ms + delay <= now);
        Some(match visible {
            Some(w) => w.after.clone(),
            None => first.before.clone(),
        })
    }

    /// `policy` as read through `dc`.
    pub(crate) fn policy_through(&self, dc: Option<usize>, server: usize) -> ActivationPolicy {
        match self.seen_through(dc, server, &Setting::ActivationPolicy) {
            Some(SettingValue::Policy(p)) => p,
            _ => self.servers[server].activation_policy,
        }
    }

    /// `DatabaseCopyActivationDisabledAndMoveNow` as read through `dc`.
    pub(crate) fn move_now_through(&self, dc: Option<usize>, server: usize) -> bool {
        match self.seen_through(dc, server, &Setting::MoveNow) {
            Some(SettingValue::Flag(b)) => b,
            _ => self.servers[server].move_now,
        }
    }

    /// A component's `RemoteStates` as read through `dc`.
    pub(crate) fn remote_states_through(
        &self,
        dc: Option<usize>,
        server: usize,
        component: &str,
    ) -> Option<Vec<RequesterEntry>> {
        match self.seen_through(dc, server, &Setting::RemoteStates(component.to_string())) {
            Some(SettingValue::Entries(e)) => Some(e),
            _ => None,
        }
    }

    /// The controller a cmdlet uses: `-DomainController` when given (one
    /// of the lab's, by FQDN or name), else the session's (`None` outside
    /// a session: the converged values).
    pub(crate) fn cmdlet_dc(
        &self,
        given: Option<String>,
        session: Option<usize>,
        cmd: &str,
    ) -> Result<Option<usize>, PsError> {
        let Some(given) = given else {
            return Ok(session);
        };
        let dcs = self.domain_controllers();
        dcs.iter()
            .position(|d| {
                d.eq_ignore_ascii_case(&given)
                    || d.split('.')
                        .next()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&given))
            })
            .filter(|&i| !self.dc_unreachable(&dcs[i]))
            .map(Some)
            .ok_or_else(|| dc_unavailable(cmd, &given))
    }
}

/// Exchange's error for a `-DomainController` it cannot use. The text is
/// the one Exchange's AD driver writes when it cannot reach a controller
/// ("An Active Directory error 0x51 occurred when trying to check the
/// suitability of server …"); that a cmdlet given an unknown or
/// unreachable controller writes exactly this is UNVERIFIED.
pub(crate) fn dc_unavailable(cmd: &str, dc: &str) -> PsError {
    PsError::new(
        ErrorCategory::NotSpecified,
        &format!("SuitabilityDirectoryException,Microsoft.Exchange.Management.SystemConfigurationTasks.{}", cmd.replace('-', "")),
        format!("An Active Directory error 0x51 occurred when trying to check the suitability of server '{dc}'. Error: 'Active directory response: The LDAP server is unavailable.'"),
    )
    .in_command(cmd)
    .terminating()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(dcs: &[&str], delay_s: u64) -> World {
        let mut w = World::from_spec(
            &crate::testkit::three_member_spec(),
            "DAG01",
            crate::testkit::T0,
        );
        w.ad.domain_controllers = dcs.iter().map(|d| (*d).to_string()).collect();
        w.ad.replication_delay = std::time::Duration::from_secs(delay_s);
        w
    }

    #[test]
    fn a_write_is_seen_at_once_on_its_controller_and_elsewhere_after_the_delay() {
        let mut w = world(&["dc01.contoso.local", "dc02.contoso.local"], 15);
        let before = SettingValue::Policy(ActivationPolicy::Unrestricted);
        let after = SettingValue::Policy(ActivationPolicy::Blocked);
        w.servers[0].activation_policy = ActivationPolicy::Blocked;
        w.record_write(Some(0), 0, Setting::ActivationPolicy, before, after);
        assert_eq!(w.policy_through(Some(0), 0), ActivationPolicy::Blocked);
        assert_eq!(w.policy_through(Some(1), 0), ActivationPolicy::Unrestricted);
        assert_eq!(w.policy_through(None, 0), ActivationPolicy::Blocked);
        w.now_ms += 14_999;
        assert_eq!(w.policy_through(Some(1), 0), ActivationPolicy::Unrestricted);
        w.now_ms += 1;
        assert_eq!(w.policy_through(Some(1), 0), ActivationPolicy::Blocked);
    }

    #[test]
    fn sessions_take_the_controllers_in_turn_and_a_named_one_must_exist() {
        let mut w = world(&["dc01.contoso.local", "dc02.contoso.local"], 15);
        assert_eq!([w.session_dc(), w.session_dc(), w.session_dc()], [0, 1, 0]);
        assert_eq!(
            w.cmdlet_dc(Some("DC02".into()), Some(0), "Get-MailboxServer")
                .unwrap(),
            Some(1)
        );
        let e = w
            .cmdlet_dc(Some("dc09.contoso.local".into()), None, "Get-MailboxServer")
            .unwrap_err();
        assert!(e
            .message
            .contains("suitability of server 'dc09.contoso.local'"));
        assert_eq!(w.current_domain_controllers(1)[0], "dc02.contoso.local");
        w.ad.unreachable_domain_controllers = vec!["dc02.contoso.local".into()];
        assert_eq!([w.session_dc(), w.session_dc()], [0, 0], "dc02 skipped");
        let e = w
            .cmdlet_dc(
                Some("dc02.contoso.local".into()),
                Some(0),
                "Set-MailboxServer",
            )
            .unwrap_err();
        assert!(e.message.contains("The LDAP server is unavailable"));
    }

    #[test]
    fn one_controller_has_nothing_to_replicate() {
        let mut w = world(&[], 15);
        assert_eq!(w.domain_controllers(), vec!["dc01.contoso.local"]);
        w.record_write(
            Some(0),
            0,
            Setting::MoveNow,
            SettingValue::Flag(false),
            SettingValue::Flag(true),
        );
        assert!(w.directory.writes.is_empty());
    }
}
