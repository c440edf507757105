//! The client against the lab's WinRM server, in-process on ephemeral
//! loopback ports: the same answers as the in-process lab, auth failures,
//! unreachable servers, dropped connections, long scripts through stdin,
//! the TimedOut long-poll, and HTTPS with a pinned CA.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::commands::LabExecutor;
use crate::exec::{ExecError, Executor};
use crate::plan::{Plan, Scheme, Secret};
use lab::winrm::{start, Running, ServeOptions};
use stats::Totals;
use wsman::envelope;

const PASSWORD: &str = "lab-only-password";

/// plans/lab-winrm.toml with `extra` appended, and its `[lab]` as the lab reads it.
fn lab_plan(extra: &str) -> (Plan, lab::LabSpec) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/lab-winrm.toml");
    let text = std::fs::read_to_string(&path).expect("plans/lab-winrm.toml");
    let text = format!("{text}\n{extra}");
    let plan = crate::plan::parse(&text, &path).expect("lab-winrm.toml is valid");
    let spec = lab::parse_plan_text(&text, &path).expect("[lab] is valid");
    (plan, spec.expect("[lab]"))
}

fn serve(spec: &lab::LabSpec, dir: &Path, scheme: Scheme, allow_unencrypted: bool) -> Running {
    let scheme = match scheme {
        Scheme::Http => lab::winrm::Scheme::Http,
        Scheme::Https => lab::winrm::Scheme::Https,
    };
    start(
        spec,
        "DAG01",
        dir,
        ServeOptions {
            scheme,
            allow_unencrypted,
            ephemeral_ports: true,
        },
    )
    .expect("lab serve starts")
}

fn executor(
    running: &Running,
    password: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> WinRmExecutor {
    executor_with(running, AuthKind::Basic, password, tls)
}

fn executor_with(
    running: &Running,
    kind: AuthKind,
    password: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> WinRmExecutor {
    let endpoints = running
        .urls
        .iter()
        .map(|(name, url)| Endpoint {
            server: name.clone(),
            host: "127.0.0.1".into(),
            port: url
                .rsplit(':')
                .next()
                .and_then(|p| p.trim_end_matches("/wsman").parse().ok())
                .expect("port in URL"),
            tls: tls.clone(),
        })
        .collect();
    let creds = Credentials {
        kind,
        user: "lab\\admin".into(),
        password: Secret::new(password.into()),
    };
    let options = Options {
        poll_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        ..Options::default()
    };
    WinRmExecutor::new(endpoints, creds, options)
}

use std::sync::Arc;

#[test]
fn answers_match_the_in_process_lab() {
    let (plan, spec) = lab_plan("");
    let served = tempfile::tempdir().unwrap();
    let running = serve(&spec, served.path(), Scheme::Http, true);
    let remote = executor(&running, PASSWORD, None);
    let credential = crate::exchange::Credential {
        user: spec.username.clone(),
        secret: crate::plan::Secret::new(spec.password.clone()),
    };
    let remote_reach = crate::exchange::Reach::new(&remote, &credential, &plan.servers);
    let over_winrm: Vec<String> = plan
        .servers
        .iter()
        .map(|s| {
            let facts = crate::exchange::server_facts(&remote_reach, s).expect("facts over WinRM");
            let state =
                crate::exchange::exchange_state(&remote_reach, s).expect("state over WinRM");
            format!("{facts:?}\n{state:?}")
        })
        .collect();
    // The same saved world, read in process (same boot times and queues).
    let in_process = LabExecutor::open(served.path(), &spec, "DAG01").unwrap();
    let in_process_reach = crate::exchange::Reach::new(&in_process, &credential, &plan.servers);
    for (server, remote_answer) in plan.servers.iter().zip(&over_winrm) {
        let facts =
            crate::exchange::server_facts(&in_process_reach, server).expect("facts in process");
        let state =
            crate::exchange::exchange_state(&in_process_reach, server).expect("state in process");
        assert_eq!(
            remote_answer,
            &format!("{facts:?}\n{state:?}"),
            "{}",
            server.name
        );
    }
    let out = remote.run_cmd(&plan.servers[1], "hostname").unwrap();
    assert_eq!((out.stdout.as_str(), out.exit_code), ("EX02\r\n", 0));
}

#[test]
fn one_shell_runs_several_commands_and_long_scripts_go_through_stdin() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let exec = executor(&running, PASSWORD, None);
    let mut shell = exec.session(&plan.servers[0]).unwrap();
    let short = shell.run_ps("'héllo ' + 'wörld'").unwrap();
    assert_eq!(short.stdout.trim_end(), "héllo wörld");
    // Padding makes the encoded command far longer than a command line allows.
    let long = format!("# {}\n$x = 40 + 2\n$x", "pad ".repeat(2_000));
    assert!(encoding::encode_command(&long).len() > shell::MAX_INLINE_ENCODED);
    let out = shell.run_ps(&long).unwrap();
    assert_eq!(
        (out.stdout.trim_end(), out.exit_code),
        ("42", 0),
        "{}",
        out.stderr
    );
    let out = shell.run_cmd("hostname").unwrap();
    assert_eq!(out.stdout, "EX01\r\n");
}

#[test]
fn powershell_errors_come_back_as_text_with_the_exit_code() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let exec = executor(&running, PASSWORD, None);
    let out = exec
        .run_ps(&plan.servers[0], "Get-Mailbox -Identity nobody")
        .unwrap();
    assert_eq!(out.exit_code, 1);
    assert!(
        !out.stderr.contains("CLIXML") && !out.stderr.contains("_x000D_"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Get-Mailbox"), "{}", out.stderr);
    let out = exec.run_cmd(&plan.servers[0], "nonsense").unwrap();
    // cmd.exe's exit code for a command it cannot find is 9009.
    assert_eq!(out.exit_code, 9009);
    assert!(
        out.stderr.contains("'nonsense' is not recognized"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_wrong_password_is_an_auth_failure_that_never_shows_it() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let exec = executor(&running, "wrong-secret-42", None);
    let err = exec.run_cmd(&plan.servers[0], "hostname").unwrap_err();
    assert!(matches!(err, ExecError::AuthFailed { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("authentication failed for lab\\admin on EX01; check the account"),
        "{err}"
    );
    assert!(!format!("{err:?} {exec:?}").contains("wrong-secret-42"));
}

#[test]
fn basic_over_http_is_refused_when_unencrypted_traffic_is_off() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, false);
    let err = executor(&running, PASSWORD, None)
        .run_cmd(&plan.servers[0], "hostname")
        .unwrap_err();
    assert!(matches!(err, ExecError::AuthFailed { .. }), "{err:?}");
}

/// `hostname` on EX01 at `host:port` over HTTP with Basic, where no
/// WinRM answers: the error.
fn hostname_at(host: &str, port: u16) -> ExecError {
    let exec = WinRmExecutor::new(
        vec![Endpoint {
            server: "EX01".into(),
            host: host.into(),
            port,
            tls: None,
        }],
        Credentials {
            kind: AuthKind::Basic,
            user: "lab\\admin".into(),
            password: Secret::new(PASSWORD.into()),
        },
        Options::default(),
    );
    let (plan, _) = lab_plan("");
    exec.run_cmd(&plan.servers[0], "hostname").unwrap_err()
}

/// Review operator-experience.md message 8: a name that does not resolve
/// is said so, with a DNS hint (not the WinRM/firewall one), and a
/// refused connection carries its hint once.
#[test]
fn an_unresolvable_name_gets_the_dns_hint() {
    // RFC 6761: `.invalid` never resolves.
    let err = hostname_at("exmbx01.contoso.invalid", 5985);
    assert!(matches!(err, ExecError::Unresolved { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("EX01 is unreachable: cannot resolve exmbx01.contoso.invalid (")
            && text.contains("check the plan's fqdn (or address) for EX01")
            && !text.contains("firewall"),
        "{text}"
    );
}

#[test]
fn a_closed_port_is_unreachable() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let err = hostname_at("127.0.0.1", port);
    assert!(matches!(err, ExecError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("EX01 is unreachable: cannot connect to http://127.0.0.1:"),
        "{err}"
    );
    assert_eq!(err.to_string().matches("firewall").count(), 1, "{err}");
}

#[test]
fn dropped_connections_are_retried_within_the_budget() {
    let (plan, spec) =
        lab_plan("[[lab.fault]]\nserver = \"EX01\"\nkind = \"winrm-drops\"\ntimes = 2\n");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let out = executor(&running, PASSWORD, None)
        .run_cmd(&plan.servers[0], "hostname")
        .unwrap();
    assert_eq!(out.stdout, "EX01\r\n");

    let (plan, spec) =
        lab_plan("[[lab.fault]]\nserver = \"EX01\"\nkind = \"winrm-drops\"\ntimes = 9\n");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let err = executor(&running, PASSWORD, None)
        .run_cmd(&plan.servers[0], "hostname")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the connection dropped 4 times while creating a shell"),
        "{err}"
    );
    assert!(err.to_string().contains("gave up after 3 retries"), "{err}");
}

#[test]
fn receive_before_input_times_out_as_windows_does() {
    let (_, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let exec = executor(&running, PASSWORD, None);
    let ep = exec.endpoints[0].clone();
    let mut client = Client::new(ep, exec.creds.clone(), exec.options.clone());
    let to = client.endpoint().url();
    let created = client
        .call(&envelope::create_shell(&envelope::Header {
            to: &to,
            message_id: "uuid:1",
            operation_timeout: Duration::from_secs(5),
            shell_id: None,
        }))
        .ok()
        .unwrap();
    let shell = envelope::shell_id(&envelope::parse(&created).unwrap()).unwrap();
    let hd = |id: &'static str| envelope::Header {
        to: &to,
        message_id: id,
        operation_timeout: Duration::from_millis(300),
        shell_id: Some(&shell),
    };
    let started = client
        .call(&envelope::command(
            &hd("uuid:2"),
            "powershell",
            &["-Command", "-"],
        ))
        .ok()
        .unwrap();
    let command = envelope::command_id(&envelope::parse(&started).unwrap()).unwrap();
    match client.call(&envelope::receive(&hd("uuid:3"), &command)) {
        Err(client::Failure::Fault(f)) => assert!(f.is_timed_out(), "{f}"),
        other => panic!("expected the TimedOut fault, got {other:?}"),
    }
    client
        .call(&envelope::send(
            &hd("uuid:4"),
            &command,
            &encoding::b64(b"6 * 7"),
            true,
        ))
        .ok()
        .unwrap();
    let text = client
        .call(&envelope::receive(&hd("uuid:5"), &command))
        .ok()
        .unwrap();
    let doc = envelope::parse(&text).unwrap();
    assert_eq!(
        envelope::find_text(&doc, envelope::NS_ADDRESSING, "RelatesTo").as_deref(),
        Some("uuid:5")
    );
    let r = envelope::received(&doc).unwrap();
    assert_eq!(
        (String::from_utf8_lossy(&r.stdout).trim_end(), r.exit_code),
        ("42", Some(0))
    );
}

#[test]
fn https_checks_the_certificate_against_the_pinned_ca() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Https, false);
    let ca = running
        .ca_file
        .clone()
        .expect("the CA is written for HTTPS");
    let pinned = tls::client_config(Some(&ca), false).unwrap();
    let out = executor(&running, PASSWORD, Some(pinned))
        .run_cmd(&plan.servers[2], "hostname")
        .unwrap();
    assert_eq!(out.stdout, "EX03\r\n");

    // Another CA (a second run's) must not be trusted.
    let other_dir = tempfile::tempdir().unwrap();
    let other = serve(&spec, other_dir.path(), Scheme::Https, false);
    let wrong = tls::client_config(other.ca_file.as_deref(), false).unwrap();
    let err = executor(&running, PASSWORD, Some(wrong))
        .run_cmd(&plan.servers[2], "hostname")
        .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    let skip = tls::client_config(None, true).unwrap();
    let out = executor(&running, PASSWORD, Some(skip))
        .run_cmd(&plan.servers[2], "hostname")
        .unwrap();
    assert_eq!(out.exit_code, 0);
}

#[test]
fn the_plan_points_winrm_at_the_lab_listeners() {
    std::env::set_var("CUROLL_TEST_WINRM_PW", PASSWORD);
    let (plan, _) = lab_plan("");
    let mut plan = plan;
    plan.connection.secret = crate::plan::SecretSource::Env("CUROLL_TEST_WINRM_PW".into());
    let exec = WinRmExecutor::from_plan(&plan).unwrap();
    let urls: Vec<String> = exec.endpoints.iter().map(Endpoint::url).collect();
    assert_eq!(
        urls,
        [
            "http://127.0.0.1:15985/wsman",
            "http://127.0.0.1:15986/wsman",
            "http://127.0.0.1:15987/wsman"
        ]
    );
    assert!(!format!("{exec:?}").contains(PASSWORD));
}

#[test]
fn a_missing_password_variable_is_explained() {
    let (mut plan, _) = lab_plan("");
    plan.connection.secret = crate::plan::SecretSource::Env("CUROLL_TEST_UNSET_VARIABLE".into());
    let err = WinRmExecutor::from_plan(&plan).unwrap_err();
    assert!(
        err.to_string()
            .contains("CUROLL_TEST_UNSET_VARIABLE, which is not set"),
        "{err}"
    );
}

#[test]
fn the_password_file_gives_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pw");
    std::fs::write(&f, "s3cret\r\nignored\n").unwrap();
    let s = read_secret(&crate::plan::SecretSource::File(f))
        .unwrap()
        .unwrap();
    assert_eq!(s.expose(), "s3cret");
    assert_eq!(format!("{s:?}"), "Secret(***)");
}

#[test]
fn ntlm_seals_over_http_where_unencrypted_traffic_is_refused() {
    let (plan, spec) =
        lab_plan("[[lab.fault]]\nserver = \"EX02\"\nkind = \"winrm-drops\"\ntimes = 1\n");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, false);
    let exec = executor_with(&running, AuthKind::Ntlm, PASSWORD, None);
    let mut shell = exec.session(&plan.servers[0]).unwrap();
    let out = shell.run_ps("'sealed ' + 'ünïcode'").unwrap();
    assert_eq!(
        (out.stdout.trim_end(), out.exit_code),
        ("sealed ünïcode", 0)
    );
    let long = format!("# {}\n'long'", "x".repeat(9_000));
    assert_eq!(shell.run_ps(&long).unwrap().stdout.trim_end(), "long");
    // A dropped connection means a new NTLM handshake on the retry.
    let out = exec.run_cmd(&plan.servers[1], "hostname").unwrap();
    assert_eq!(out.stdout, "EX02\r\n");

    let wrong = executor_with(&running, AuthKind::Ntlm, "nope", None);
    let err = wrong.run_cmd(&plan.servers[0], "hostname").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("authentication failed for lab\\admin on EX01; check the account"),
        "{err}"
    );
}

#[test]
fn ntlm_over_https_needs_no_sealing() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Https, false);
    let tls = tls::client_config(running.ca_file.as_deref(), false).unwrap();
    let out = executor_with(&running, AuthKind::Ntlm, PASSWORD, Some(tls))
        .run_cmd(&plan.servers[0], "hostname")
        .unwrap();
    assert_eq!(out.stdout, "EX01\r\n");
}

/// The executor keeps a shell per server: five calls travel on one
/// connection in one shell, NTLM negotiates once for all of them, and each
/// call costs three requests (Command, Receive, Signal) after the shell's
/// Create.
#[test]
fn calls_share_one_connection_and_one_ntlm_handshake() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, false);
    let exec = executor_with(&running, AuthKind::Ntlm, PASSWORD, None);
    for _ in 0..5 {
        let out = exec.run_cmd(&plan.servers[0], "hostname").unwrap();
        assert_eq!(out.stdout, "EX01\r\n");
    }
    let out = exec.run_ps(&plan.servers[1], "6 * 7").unwrap();
    assert_eq!(out.stdout.trim_end(), "42");
    assert_eq!(
        exec.totals(),
        Totals {
            connections: 2,
            requests: 2 * 2 + 2 + 6 * 3,
            shells: 2,
            commands: 6,
        }
    );
}

/// A connection the server dropped is reopened (and NTLM negotiated on
/// it again) without the caller seeing anything.
#[test]
fn a_dropped_connection_is_reopened_and_authenticated_again() {
    let (plan, spec) =
        lab_plan("[[lab.fault]]\nserver = \"EX01\"\nkind = \"winrm-drops\"\ntimes = 1\n");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, false);
    let exec = executor_with(&running, AuthKind::Ntlm, PASSWORD, None);
    for _ in 0..3 {
        let out = exec.run_cmd(&plan.servers[0], "hostname").unwrap();
        assert_eq!(out.stdout, "EX01\r\n");
    }
    let t = exec.totals();
    // The first connection, then the one after the drop, for all three calls.
    assert_eq!((t.connections, t.shells, t.commands), (2, 1, 3), "{t:?}");
}

/// A kept shell the server no longer knows (as after a reboot) is
/// replaced, and the command runs in the new one.
#[test]
fn a_kept_shell_the_server_lost_is_replaced() {
    let (plan, spec) = lab_plan("");
    let dir = tempfile::tempdir().unwrap();
    let running = serve(&spec, dir.path(), Scheme::Http, true);
    let exec = executor(&running, PASSWORD, None);
    assert_eq!(
        exec.run_cmd(&plan.servers[0], "hostname").unwrap().stdout,
        "EX01\r\n"
    );
    // Delete the kept shell behind the executor's back.
    let kept = exec.idle.lock().unwrap()["ex01"][0].id().to_string();
    let mut other = Client::new(
        exec.endpoints[0].clone(),
        exec.creds.clone(),
        exec.options.clone(),
    );
    let to = other.endpoint().url();
    other
        .call(&envelope::delete_shell(&envelope::Header {
            to: &to,
            message_id: "uuid:1",
            operation_timeout: Duration::from_secs(5),
            shell_id: Some(&kept),
        }))
        .ok()
        .unwrap();
    assert_eq!(
        exec.run_cmd(&plan.servers[0], "hostname").unwrap().stdout,
        "EX01\r\n"
    );
    let t = exec.totals();
    assert_eq!((t.shells, t.commands), (2, 2), "{t:?}");
    let now = exec.idle.lock().unwrap()["ex01"][0].id().to_string();
    assert_ne!(now, kept);
}
