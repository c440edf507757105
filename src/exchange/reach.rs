//! How an [`Operation`] reaches its server: a `Target` operation runs in a
//! shell on the server being rolled; an `ExchangeSession` one in a shell on
//! an Exchange peer in service, inside an Exchange remote session to that
//! peer opened with the admin's credential, whose secret goes on the
//! script's stdin (`Executor::run_ps_with_secret`). [`Reach`] carries what
//! that needs (the executor, the credential, the servers the caller
//! believes in service); the caller (a step, the scheduler, pre-flight)
//! decides which servers those are, and the domain controller chosen for
//! a server (`pin`) goes with every operation about it that can name one.
//! Nothing here decides whether to act.

use crate::exec::{ExecError, ExecOutput, Executor};
use crate::plan::{Secret, Server};

use super::{Operation, Placement};

/// The account Exchange remote sessions are opened with (`[connection]
/// user` and its password, or the lab transport's `[lab] username`).
/// `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct Credential {
    pub user: String,
    pub secret: Secret,
}

/// What an operation needs to reach Exchange.
#[derive(Clone)]
pub struct Reach<'a> {
    pub exec: &'a dyn Executor,
    pub credential: &'a Credential,
    /// The servers that may serve as the Exchange peer, in plan order.
    pub servers: Vec<&'a Server>,
    /// Servers the caller believes down or in cu-roll's maintenance: never
    /// chosen as the peer.
    pub out_of_service: Vec<String>,
    /// The domain controller chosen per server in this run (`pin`): an
    /// operation about a server with one is sent pinned to it. `None`
    /// (pre-flight, the dry run): nothing is pinned.
    pub pins: Option<std::sync::Arc<super::pin::DomainControllers>>,
}

impl<'a> Reach<'a> {
    /// Every server of `servers` a candidate peer, none known out of service.
    pub fn new(exec: &'a dyn Executor, credential: &'a Credential, servers: &'a [Server]) -> Self {
        Reach {
            exec,
            credential,
            servers: servers.iter().collect(),
            out_of_service: Vec::new(),
            pins: None,
        }
    }

    /// The same, with `names` also out of service.
    pub fn without(&self, names: &[&str]) -> Reach<'a> {
        let mut r = self.clone();
        r.out_of_service
            .extend(names.iter().map(|n| (*n).to_string()));
        r
    }

    fn in_service(&self, s: &Server) -> bool {
        !self
            .out_of_service
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&s.name))
    }

    /// The Exchange peer for operations about `target`: the first other
    /// server in service of the same DAG, in plan order, then of the rest
    /// of the plan; `target` itself only when it is the plan's only server
    /// and in service. Else an error naming the servers tried. An Edge
    /// Transport server is never a peer: it has no Exchange remote
    /// PowerShell, and its cmdlets see only itself.
    pub fn peer_for(&self, target: &Server) -> Result<&'a Server, ExecError> {
        let others: Vec<&'a Server> = self
            .servers
            .iter()
            .copied()
            .filter(|s| !s.name.eq_ignore_ascii_case(&target.name) && !s.is_edge())
            .collect();
        let same_dag = |s: &&Server| target.dag.is_some() && s.dag == target.dag;
        let ordered = others
            .iter()
            .copied()
            .filter(same_dag)
            .chain(others.iter().copied().filter(|s| !same_dag(s)));
        let mut tried = Vec::new();
        for s in ordered {
            if self.in_service(s) {
                return Ok(s);
            }
            tried.push(s.name.clone());
        }
        if others.is_empty() {
            if let Some(me) = self
                .servers
                .iter()
                .copied()
                .find(|s| s.name.eq_ignore_ascii_case(&target.name) && !s.is_edge())
                .filter(|s| self.in_service(s))
            {
                return Ok(me);
            }
            tried.push(target.name.clone());
        }
        Err(ExecError::NoExchangePeer {
            server: target.name.clone(),
            tried: if tried.is_empty() {
                "no other server in the plan".to_string()
            } else {
                tried.join(", ")
            },
        })
    }
}

/// Sends `op` about `server`: a `Target` operation to `server`; an
/// `ExchangeSession` one, wrapped in its session, to the peer
/// [`Reach::peer_for`] picks, with the credential's secret on stdin —
/// except about an Edge Transport server, where it runs on the Edge
/// server itself in a local Exchange shell ([`Operation::edge_shell_script`]).
pub fn run(reach: &Reach<'_>, server: &Server, op: &Operation) -> Result<ExecOutput, ExecError> {
    let secret = Some(&reach.credential.secret);
    match op.placement {
        Placement::ExchangeSession if server.is_edge() => {
            let script = op.edge_shell_script();
            reach
                .exec
                .run_ps_timed(server, script.text(), None, op.timeout)
        }
        Placement::Target => reach
            .exec
            .run_ps_timed(server, op.script.text(), None, op.timeout),
        Placement::TargetWithCredential => {
            let script = op.credential_script(&reach.credential.user);
            reach
                .exec
                .run_ps_timed(server, script.text(), secret, op.timeout)
        }
        Placement::ExchangeSession => {
            let peer = reach.peer_for(server)?;
            super::pin::send_pinned(reach, server, op, |op| {
                let script = op.session_script(&peer.fqdn, &reach.credential.user);
                reach
                    .exec
                    .run_ps_timed(peer, script.text(), secret, op.timeout)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, dag: Option<&str>) -> Server {
        Server {
            name: name.into(),
            fqdn: format!("{}.contoso.local", name.to_ascii_lowercase()),
            dag: dag.map(str::to_string),
            redirect_to: None,
            address: None,
            port: None,
            edge: None,
        }
    }

    struct Nothing;
    impl Executor for Nothing {
        fn run_ps(&self, _: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            unreachable!()
        }
        fn run_ps_with_secret(
            &self,
            _: &Server,
            _: &str,
            _: &Secret,
        ) -> Result<ExecOutput, ExecError> {
            unreachable!()
        }
        fn run_cmd(&self, _: &Server, _: &str) -> Result<ExecOutput, ExecError> {
            unreachable!()
        }
    }

    #[test]
    fn the_peer_is_the_first_other_server_in_service_same_dag_first() {
        let servers = vec![
            server("EX09", Some("DAG02")),
            server("EX01", Some("DAG01")),
            server("EX02", Some("DAG01")),
            server("EX03", Some("DAG01")),
        ];
        let cred = Credential {
            user: "CONTOSO\\admin".into(),
            secret: Secret::new("x".into()),
        };
        let reach = Reach::new(&Nothing, &cred, &servers);
        let name = |r: &Reach<'_>, t: usize| r.peer_for(&servers[t]).map(|s| s.name.clone());
        assert_eq!(name(&reach, 2).unwrap(), "EX01");
        assert_eq!(name(&reach, 1).unwrap(), "EX02");
        assert_eq!(
            name(&reach, 0).unwrap(),
            "EX01",
            "another DAG when alone in its own"
        );
        assert_eq!(name(&reach.without(&["EX01"]), 2).unwrap(), "EX03");
        assert_eq!(name(&reach.without(&["EX01", "EX03"]), 2).unwrap(), "EX09");
        let err = reach
            .without(&["EX01", "EX03", "EX09"])
            .peer_for(&servers[2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("for EX02 (tried: EX01, EX03, EX09)"), "{err}");
    }

    #[test]
    fn an_edge_server_is_never_a_peer_and_its_cmdlets_run_on_it_in_a_local_shell() {
        use std::sync::Mutex;
        struct Recorder(Mutex<Vec<(String, String, bool)>>);
        impl Executor for Recorder {
            fn run_ps(&self, on: &Server, script: &str) -> Result<ExecOutput, ExecError> {
                self.0
                    .lock()
                    .unwrap()
                    .push((on.name.clone(), script.to_string(), false));
                Ok(ExecOutput {
                    stdout: String::new(),
                    stderr: String::new(),
                    exit_code: 0,
                })
            }
            fn run_ps_with_secret(
                &self,
                on: &Server,
                script: &str,
                _: &Secret,
            ) -> Result<ExecOutput, ExecError> {
                self.0
                    .lock()
                    .unwrap()
                    .push((on.name.clone(), script.to_string(), true));
                Ok(ExecOutput {
                    stdout: String::new(),
                    stderr: String::new(),
                    exit_code: 0,
                })
            }
            fn run_cmd(&self, _: &Server, _: &str) -> Result<ExecOutput, ExecError> {
                unreachable!()
            }
        }
        let mut edge = server("EDGE01", None);
        edge.edge = Some(crate::plan::EdgeAccount {
            user: "EDGE01\\Administrator".into(),
            secret: crate::plan::SecretSource::Env("P".into()),
        });
        let servers = vec![edge, server("EX01", None)];
        let cred = Credential {
            user: "CONTOSO\\admin".into(),
            secret: Secret::new("x".into()),
        };
        let exec = Recorder(Mutex::new(Vec::new()));
        let reach = Reach::new(&exec, &cred, &servers);
        // The Mailbox server alone serves itself: the Edge server is no peer.
        assert_eq!(reach.peer_for(&servers[1]).unwrap().name, "EX01");
        let op = crate::exchange::observe::read_exchange_state("EDGE01");
        run(&reach, &servers[0], &op).unwrap();
        let sent = exec.0.lock().unwrap().clone();
        let (on, script, with_secret) = &sent[0];
        assert_eq!(on, "EDGE01");
        assert!(!with_secret, "no domain credential goes to the Edge server");
        assert!(
            script.contains("Add-PSSnapin -Name 'Microsoft.Exchange.Management.PowerShell.E2010'"),
            "{script}"
        );
        assert!(!script.contains("New-PSSession"), "{script}");
        assert!(lab::pwsh::syntax_check(script).is_ok());
    }

    #[test]
    fn the_target_serves_itself_only_when_alone() {
        let servers = vec![server("EX01", None)];
        let cred = Credential {
            user: "u".into(),
            secret: Secret::new("x".into()),
        };
        let reach = Reach::new(&Nothing, &cred, &servers);
        assert_eq!(reach.peer_for(&servers[0]).unwrap().name, "EX01");
        let err = reach.without(&["EX01"]).peer_for(&servers[0]).unwrap_err();
        assert!(err.to_string().contains("tried: EX01"), "{err}");
    }

    /// `[[server]] address` is where cu-roll's own connection goes (the
    /// executor gets the `Server`, and the WinRM transport connects to its
    /// address); the Exchange session opened there still names the peer by
    /// its FQDN, for the URI and Kerberos's SPN.
    #[test]
    fn an_address_never_reaches_the_exchange_session_uri() {
        use std::sync::Mutex;
        struct Recorder(Mutex<Vec<(String, String)>>);
        impl Executor for Recorder {
            fn run_ps(&self, _: &Server, _: &str) -> Result<ExecOutput, ExecError> {
                unreachable!()
            }
            fn run_ps_with_secret(
                &self,
                on: &Server,
                script: &str,
                _: &Secret,
            ) -> Result<ExecOutput, ExecError> {
                let to = on.address.clone().unwrap_or_else(|| on.fqdn.clone());
                self.0.lock().unwrap().push((to, script.to_string()));
                Ok(ExecOutput {
                    stdout: String::new(),
                    stderr: String::new(),
                    exit_code: 0,
                })
            }
            fn run_cmd(&self, _: &Server, _: &str) -> Result<ExecOutput, ExecError> {
                unreachable!()
            }
        }
        let mut servers = vec![server("EX01", Some("DAG01")), server("EX02", Some("DAG01"))];
        servers[0].address = Some("192.0.2.10".into());
        servers[1].address = Some("192.0.2.20".into());
        let cred = Credential {
            user: "CONTOSO\\admin".into(),
            secret: Secret::new("x".into()),
        };
        let exec = Recorder(Mutex::new(Vec::new()));
        let reach = Reach::new(&exec, &cred, &servers);
        let op = Operation {
            placement: Placement::ExchangeSession,
            script: crate::ps::Script::render("test", "Get-MailboxServer -Identity 'EX02'", &[]),
            timeout: None,
        };
        run(&reach, &servers[1], &op).unwrap();
        let sent = exec.0.lock().unwrap();
        let (to, script) = &sent[0];
        assert_eq!(
            to, "192.0.2.10",
            "the connection goes to the peer's address"
        );
        assert!(
            script.contains("-ConnectionUri 'http://ex01.contoso.local/PowerShell/'"),
            "{script}"
        );
        assert!(!script.contains("192.0.2."), "{script}");
    }
}
