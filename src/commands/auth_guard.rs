//! One wrong password, one failed logon: an [`Executor`] wrapper that lets
//! a single server try the plan's account first, and once that account is
//! refused (`ExecError::AuthFailed`) tries no other server. Every server
//! tried with a wrong password is one more failed logon against a domain
//! account, and a report or a rollout touches every member: a lockout risk
//! (review operator-experience.md, message 7). `report` and `run` turn the
//! failure into one message and exit 2.
//!
//! Until a server has accepted the account, calls go one at a time (a
//! server that cannot be reached says nothing about the password, so the
//! next one is tried); once one has, they run side by side as before.
//! Owns no transport: it only decides whether to call the one it wraps.

use std::sync::{Mutex, PoisonError};

use crate::exec::{ExecError, ExecOutput, Executor};
use crate::plan::{Secret, Server};

/// What is known about the account so far.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Proof {
    /// No server has answered to it yet.
    Unproven,
    /// A server accepted it.
    Accepted,
    /// `server` refused it for `user`.
    Refused { server: String, user: String },
}

pub struct AuthGuard {
    inner: Box<dyn Executor>,
    proof: Mutex<Proof>,
    /// Held while the account is unproven: one server tries at a time.
    first: Mutex<()>,
}

impl AuthGuard {
    pub fn new(inner: Box<dyn Executor>) -> AuthGuard {
        AuthGuard {
            inner,
            proof: Mutex::new(Proof::Unproven),
            first: Mutex::new(()),
        }
    }

    fn proof(&self) -> Proof {
        self.proof
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Once the account is judged: `Ok` to call the server, or the
    /// refusal for `server` (not tried). `None` while unproven.
    fn settled(&self, server: &Server) -> Option<Result<(), ExecError>> {
        match self.proof() {
            Proof::Accepted => Some(Ok(())),
            Proof::Refused {
                server: first,
                user,
            } => Some(Err(ExecError::Transport {
                server: server.name.clone(),
                detail: format!(
                    "not tried: {first} refused the account {user} (authentication failed), and trying it on more servers risks locking it out"
                ),
            })),
            Proof::Unproven => None,
        }
    }

    fn call(
        &self,
        server: &Server,
        f: impl FnOnce() -> Result<ExecOutput, ExecError>,
    ) -> Result<ExecOutput, ExecError> {
        if let Some(settled) = self.settled(server) {
            return settled.and_then(|()| f());
        }
        let one_at_a_time = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        // Another server may have settled it while this one waited: then
        // this call runs beside the others, not under the lock (which
        // would keep every call that queued behind the first one at a
        // time: 200 servers' first calls one after another).
        if let Some(settled) = self.settled(server) {
            drop(one_at_a_time);
            return settled.and_then(|()| f());
        }
        let result = f();
        let learned = match &result {
            Ok(_) => Some(Proof::Accepted),
            Err(ExecError::AuthFailed { server, user }) => Some(Proof::Refused {
                server: server.clone(),
                user: user.clone(),
            }),
            // Unreachable, a timeout…: the account was not judged.
            Err(_) => None,
        };
        if let Some(p) = learned {
            *self.proof.lock().unwrap_or_else(PoisonError::into_inner) = p;
        }
        result
    }
}

impl Executor for AuthGuard {
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        self.call(server, || self.inner.run_ps(server, script))
    }

    fn run_ps_with_secret(
        &self,
        server: &Server,
        script: &str,
        secret: &Secret,
    ) -> Result<ExecOutput, ExecError> {
        self.call(server, || {
            self.inner.run_ps_with_secret(server, script, secret)
        })
    }

    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        self.call(server, || self.inner.run_cmd(server, command))
    }

    /// Keeps the command's own deadline (review real-exchange.md #4).
    fn run_ps_timed(
        &self,
        server: &Server,
        script: &str,
        secret: Option<&Secret>,
        timeout: Option<std::time::Duration>,
    ) -> Result<ExecOutput, ExecError> {
        self.call(server, || {
            self.inner.run_ps_timed(server, script, secret, timeout)
        })
    }

    fn end_sessions(&self, server: &Server) {
        self.inner.end_sessions(server);
    }

    fn installer_account(&self) -> Option<(String, Secret)> {
        self.inner.installer_account()
    }

    /// The refusal, when a server refused the account: the one message to
    /// print (user, server, what to check, and that no other server was
    /// tried).
    fn refusal(&self) -> Option<String> {
        match &*self.proof.lock().unwrap_or_else(PoisonError::into_inner) {
                Proof::Refused { server, user } => Some(format!(
                    "{}; stopped before trying the other servers, so that the account is not locked out by failed logons",
                    ExecError::AuthFailed {
                        server: server.clone(),
                        user: user.clone(),
                    }
                )),
                _ => None,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Refuses every call on `refusing` servers, counting calls.
    struct Servers {
        refusing: &'static [&'static str],
        calls: Arc<AtomicUsize>,
    }

    impl Executor for Servers {
        fn run_ps(&self, server: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            self.run_cmd(server, "")
        }
        fn run_ps_with_secret(
            &self,
            server: &Server,
            _: &str,
            _: &Secret,
        ) -> Result<ExecOutput, ExecError> {
            self.run_cmd(server, "")
        }
        fn run_cmd(&self, server: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.refusing.contains(&server.name.as_str()) {
                return Err(ExecError::AuthFailed {
                    server: server.name.clone(),
                    user: "contoso\\admin".into(),
                });
            }
            Ok(ExecOutput {
                exit_code: 0,
                stdout: String::new(),
                stderr: String::new(),
            })
        }
    }

    fn guard(refusing: &'static [&'static str]) -> (AuthGuard, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let inner = Servers {
            refusing,
            calls: calls.clone(),
        };
        (AuthGuard::new(Box::new(inner)), calls)
    }

    fn server(name: &str) -> Server {
        Server {
            name: name.into(),
            fqdn: format!("{}.contoso.local", name.to_ascii_lowercase()),
            dag: None,
            redirect_to: None,
            address: None,
            port: None,
            edge: None,
        }
    }

    #[test]
    fn after_the_first_refusal_no_other_server_is_tried() {
        let (guard, calls) = guard(&["EX01", "EX02", "EX03"]);
        // A report asks every server at once.
        std::thread::scope(|s| {
            for n in ["EX01", "EX02", "EX03"] {
                let guard = &guard;
                s.spawn(move || {
                    let _ = guard.run_ps(&server(n), "hostname");
                });
            }
        });
        let again = guard.run_cmd(&server("EX02"), "hostname").unwrap_err();
        assert!(again.to_string().contains("not tried"), "{again}");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one failed logon");
        let refusal = guard.refusal().expect("refused");
        assert!(
            refusal.starts_with("authentication failed for contoso\\admin on EX0")
                && refusal.contains("stopped before trying the other servers"),
            "{refusal}"
        );
    }

    /// Accepts every call after a pause, noting how many run at once.
    struct Slow {
        running: AtomicUsize,
        most: Arc<AtomicUsize>,
    }

    impl Executor for Slow {
        fn run_ps(&self, server: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            self.run_cmd(server, "")
        }
        fn run_ps_with_secret(
            &self,
            server: &Server,
            _: &str,
            _: &Secret,
        ) -> Result<ExecOutput, ExecError> {
            self.run_cmd(server, "")
        }
        fn run_cmd(&self, _: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(200));
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(ExecOutput {
                exit_code: 0,
                stdout: String::new(),
                stderr: String::new(),
            })
        }
    }

    /// The calls that queued behind the first one while the account was
    /// unproven run side by side once it is accepted (they ran one at a
    /// time, still holding the queue's lock: a 200-server pre-flight's
    /// first round took 200 round trips end to end).
    #[test]
    fn calls_that_waited_for_the_first_run_side_by_side_after_it() {
        let most = Arc::new(AtomicUsize::new(0));
        let guard = AuthGuard::new(Box::new(Slow {
            running: AtomicUsize::new(0),
            most: most.clone(),
        }));
        std::thread::scope(|s| {
            for i in 0..8 {
                let guard = &guard;
                s.spawn(move || guard.run_cmd(&server(&format!("EX{i:02}")), "x").unwrap());
            }
        });
        assert!(
            most.load(Ordering::SeqCst) >= 2,
            "the calls after the first ran one at a time"
        );
    }

    #[test]
    fn an_accepted_account_lets_every_server_be_tried() {
        let (guard, calls) = guard(&["EX03"]);
        assert!(guard.run_cmd(&server("EX01"), "x").is_ok());
        // A refusal after the account was accepted is that server's own
        // matter (not a local administrator there): passed through.
        assert!(matches!(
            guard.run_cmd(&server("EX03"), "x"),
            Err(ExecError::AuthFailed { .. })
        ));
        assert!(guard.run_cmd(&server("EX02"), "x").is_ok());
        assert_eq!(guard.refusal(), None);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
