//! One wrong password, one attempt (review #7): a domain account that
//! fails to authenticate on every server of a plan, in parallel, collects
//! a bad-password count per server and can be locked out. This executor
//! decorator lets the first call through alone; once it authenticated,
//! calls run side by side; when it failed authentication, no further server
//! is tried and every later call fails at once naming the first failure.
//! It decides nothing else and changes nothing on a server.

use std::sync::{Mutex, PoisonError};

use crate::exec::{ExecError, ExecOutput, Executor};
use crate::plan::{Secret, Server};

/// What the first call showed about the credentials.
enum Known {
    /// Nothing has answered yet.
    Unknown,
    /// A server accepted them (or failed for another reason than them).
    Accepted,
    /// `user` was refused by `server`.
    Refused { server: String, user: String },
}

pub(crate) struct AuthGuard {
    inner: Box<dyn Executor>,
    known: Mutex<Known>,
}

impl AuthGuard {
    pub(crate) fn new(inner: Box<dyn Executor>) -> AuthGuard {
        AuthGuard {
            inner,
            known: Mutex::new(Known::Unknown),
        }
    }

    fn guarded(
        &self,
        server: &Server,
        call: impl FnOnce() -> Result<ExecOutput, ExecError>,
    ) -> Result<ExecOutput, ExecError> {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        match &*known {
            Known::Accepted => {
                drop(known);
                call()
            }
            Known::Refused {
                server: first,
                user,
            } => Err(not_tried(server, first, user)),
            // The first call runs while the others wait on the lock.
            Known::Unknown => {
                let result = call();
                *known = match &result {
                    Err(ExecError::AuthFailed { server, user }) => Known::Refused {
                        server: server.clone(),
                        user: user.clone(),
                    },
                    // Unreachable or timed out: nothing learnt about the
                    // password; the next call tries again alone.
                    Err(ExecError::Unreachable { .. } | ExecError::Timeout { .. }) => {
                        Known::Unknown
                    }
                    _ => Known::Accepted,
                };
                result
            }
        }
    }
}

fn not_tried(server: &Server, first: &str, user: &str) -> ExecError {
    ExecError::Transport {
        server: server.name.clone(),
        detail: format!(
            "not tried: authentication failed for {user} on {first}, and cu-roll tries no further server so that the account is not locked out; check the password source and the DOMAIN\\user form"
        ),
    }
}

impl Executor for AuthGuard {
    fn run_ps(&self, server: &Server, script: &str) -> Result<ExecOutput, ExecError> {
        self.guarded(server, || self.inner.run_ps(server, script))
    }

    fn run_ps_with_secret(
        &self,
        server: &Server,
        script: &str,
        secret: &Secret,
    ) -> Result<ExecOutput, ExecError> {
        self.guarded(server, || {
            self.inner.run_ps_with_secret(server, script, secret)
        })
    }

    fn run_cmd(&self, server: &Server, command: &str) -> Result<ExecOutput, ExecError> {
        self.guarded(server, || self.inner.run_cmd(server, command))
    }

    fn installer_account(&self) -> Option<(String, Secret)> {
        self.inner.installer_account()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Refusing(AtomicUsize);
    impl Executor for Refusing {
        fn run_ps(&self, s: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(ExecError::AuthFailed {
                server: s.name.clone(),
                user: "CONTOSO\\svc".into(),
            })
        }
        fn run_ps_with_secret(
            &self,
            s: &Server,
            t: &str,
            _: &Secret,
        ) -> Result<ExecOutput, ExecError> {
            self.run_ps(s, t)
        }
        fn run_cmd(&self, s: &Server, t: &str) -> Result<ExecOutput, ExecError> {
            self.run_ps(s, t)
        }
    }

    #[test]
    fn a_refused_password_is_tried_on_one_server_only_even_in_parallel() {
        let plan = crate::plan::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plans/lab.toml"
        )))
        .unwrap();
        let guard = AuthGuard::new(Box::new(Refusing(AtomicUsize::new(0))));
        let results = crate::pool::for_each_bounded(&plan.servers, 3, |s| {
            guard.run_cmd(s, "hostname").unwrap_err().to_string()
        });
        let Known::Refused { server, .. } = &*guard.known.lock().unwrap() else {
            panic!("the refusal is remembered");
        };
        let first = server.clone();
        let tried = results
            .iter()
            .filter(|r| r.starts_with("authentication failed"))
            .count();
        assert_eq!(tried, 1, "{results:#?}");
        for r in results
            .iter()
            .filter(|r| !r.starts_with("authentication failed"))
        {
            assert!(
                r.contains(&format!(
                    "not tried: authentication failed for CONTOSO\\svc on {first}"
                )),
                "{r}"
            );
        }
    }
}
