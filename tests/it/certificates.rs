//! Certificates in the pre-flight (review real-exchange.md #12; issue
//! "Real Exchange II", "Certificates"), through the binary on
//! `plans/lab.toml` with `[[lab.certificate]]`s: an expired Exchange Auth
//! certificate (OWA/ECP break after the update; CSS-Exchange
//! MonitorExchangeAuthCertificate) and an expired certificate bound to IIS
//! (setup stops on it; SetupLogReviewer `Test-ExpiredCertificate`) block
//! the servers to be upgraded, naming the certificate. The old product read
//! no certificate: it called these labs ready (exit 0) and `run` started
//! setup, which failed on the IIS certificate.

use serde_json::Value;

use crate::harness::{Env, LabPlan};

const AUTH: &str = "C3EDCF181EF4F9B53D01768ECA99564014BCA6E7";
const WEB: &str = "12FD38FA8F58C8A74B3039962882DEFE4199D453";

/// `plans/lab.toml` (EX01 at the target, EX02 and EX03 below it) with an
/// Auth certificate on every server and a web certificate on EX03 only.
fn plan(env: &Env, auth_not_after: &str, web_not_after: &str) -> String {
    let text = format!(
        r#"{}
[[lab.certificate]]
thumbprint = "{AUTH}"
subject = "CN=Microsoft Exchange Server Auth Certificate"
not_after = "{auth_not_after}"
bound_to = ["auth"]

[[lab.certificate]]
thumbprint = "{WEB}"
subject = "CN=mail.contoso.local"
issuer = "CN=Contoso Issuing CA"
not_after = "{web_not_after}"
bound_to = ["iis"]
servers = ["EX03"]
"#,
        LabPlan::new().fast().text()
    );
    env.write_plan("certs.toml", &text)
        .to_string_lossy()
        .into_owned()
}

fn server<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {report:#}"))
}

fn blocker<'a>(s: &'a Value, code: &str) -> Option<&'a str> {
    let codes = s["blocker_codes"].as_array().unwrap();
    let at = codes.iter().position(|c| c == code)?;
    s["blockers"][at].as_str()
}

#[test]
fn an_expired_auth_certificate_blocks_the_servers_to_upgrade() {
    let env = Env::new();
    let p = plan(&env, "2024-11-06T14:47:32Z", "2099-01-01");
    let j = env
        .run(&["report", &p, "--format", "json"])
        .expect_code(3)
        .json();
    for name in ["EX02", "EX03"] {
        let s = server(&j, name);
        assert_eq!(s["verdict"], "blocked", "{s:#}");
        let text = blocker(s, "certificate.auth-expired").unwrap_or_else(|| panic!("{s:#}"));
        for part in [
            AUTH,
            "CN=Microsoft Exchange Server Auth Certificate",
            "NotAfter 2024-11-06T14:47:32",
            "Get-AuthConfig",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert!(blocker(s, "certificate.iis-expired").is_none(), "{s:#}");
    }
    // At the target already: nothing will be installed on it.
    assert_eq!(server(&j, "EX01")["verdict"], "up-to-date");
}

#[test]
fn an_expired_certificate_bound_to_iis_blocks_its_server() {
    let env = Env::new();
    let p = plan(&env, "2099-01-01", "2020-03-20T12:00:00Z");
    let j = env
        .run(&["report", &p, "--format", "json"])
        .expect_code(3)
        .json();
    let ex03 = server(&j, "EX03");
    let text = blocker(ex03, "certificate.iis-expired").unwrap_or_else(|| panic!("{ex03:#}"));
    for part in [
        WEB,
        "CN=mail.contoso.local",
        "NotAfter 2020-03-20T12:00:00",
        "IIS site 'Default Web Site' (https *:443:)",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert_eq!(server(&j, "EX02")["verdict"], "ready");
    // `run` refuses before any change: setup never starts on EX03.
    let run = env.run(&["run", &p, "--yes"]).expect_code(3);
    assert!(run.stderr.contains(WEB), "{}", run.stderr);
}

#[test]
fn valid_certificates_leave_the_lab_ready() {
    let env = Env::new();
    let p = plan(&env, "2099-01-01", "2099-01-01");
    let j = env
        .run(&["report", &p, "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(j["verdict"], "ready", "{j:#}");
    for name in ["EX02", "EX03"] {
        let s = server(&j, name);
        assert_eq!(s["verdict"], "ready", "{s:#}");
        let warnings = s["warnings"].to_string();
        assert!(!warnings.contains("certificate"), "{warnings}");
    }
}

// ------------------------------------------------------------ shapes

fn capture(file: &str) -> Vec<crate::clixml::Node> {
    let path = crate::harness::repo()
        .join("tests/fixtures/real/exchange-objects/E19")
        .join(file);
    crate::clixml::parse(&std::fs::read_to_string(&path).unwrap())
}

fn obj(n: &crate::clixml::Node) -> &crate::clixml::Obj {
    match n {
        crate::clixml::Node::Obj(o) => o,
        other => panic!("not an object: {other:?}"),
    }
}

/// The lab's answer to `cmd` on EX03 of a lab with one certificate bound
/// to both IIS and Auth.
fn lab_call(cmd: &str) -> Vec<lab::pwsh::value::Value> {
    use lab::pwsh::host::CommandHost;
    let mut spec = lab::testkit::three_member_spec();
    spec.certificates = vec![lab::LabCertificate {
        thumbprint: WEB.into(),
        subject: "CN=mail.contoso.local".into(),
        issuer: "CN=mail.contoso.local".into(),
        not_before_ms: lab::testkit::T0 - 86_400_000,
        not_after_ms: lab::testkit::T0 + 86_400_000,
        iis: true,
        auth: true,
        servers: Vec::new(),
    }];
    let mut w = lab::World::from_spec(&spec, &spec.dag, lab::testkit::T0);
    // Inside Exchange's endpoint, as the session's proxies run it.
    let mut h = lab::ServerHost::new(&mut w, "EX03", lab::testkit::T0)
        .expect("EX03")
        .as_exchange_endpoint();
    h.invoke(
        "Add-PSSnapin",
        &[lab::pwsh::host::Argument::Positional(
            lab::pwsh::value::Value::str("Microsoft.Exchange.Management.PowerShell.SnapIn"),
        )],
        vec![],
    )
    .unwrap();
    h.invoke(cmd, &[], vec![])
        .unwrap_or_else(|e| panic!("lab {cmd}: {}", e.message))
}

fn text(v: Option<&lab::pwsh::value::Value>) -> Option<String> {
    match v {
        Some(lab::pwsh::value::Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn captured(n: Option<&crate::clixml::Node>) -> Option<String> {
    match n {
        Some(crate::clixml::Node::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// What `IIS_BINDINGS` and `EXCHANGE_CERTIFICATES` read of `Get-WebBinding`
/// and `Get-AuthConfig` is in the real captures as strings with the same
/// names, and in the lab's objects. (The `Get-ExchangeCertificate` capture
/// holds only `RawData`: see `templates::EXCHANGE_CERTIFICATES`.)
#[test]
fn bindings_and_auth_config_have_the_captured_shapes() {
    use lab::pwsh::value::Value;
    let bindings = capture("IIS_GetWebBinding.xml");
    let https = bindings
        .iter()
        .map(obj)
        .find(|o| captured(o.prop("protocol")).as_deref() == Some("https"))
        .expect("an https binding");
    for name in ["bindingInformation", "certificateHash", "ItemXPath"] {
        assert!(captured(https.prop(name)).is_some(), "{name}");
    }
    let lab_bindings = lab_call("Get-WebBinding");
    let lab_https = lab_bindings
        .iter()
        .find_map(|v| match v {
            Value::Object(o)
                if text(o.get("protocol")).as_deref() == Some("https")
                    && text(o.get("certificateHash")).as_deref() == Some(WEB) =>
            {
                Some(o)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{lab_bindings:?}"));
    assert_eq!(
        text(lab_https.get("ItemXPath")),
        captured(https.prop("ItemXPath"))
    );
    assert!(text(lab_https.get("bindingInformation")).is_some());
    assert_eq!(lab_https.type_names[0], https.type_names[0]);

    let auth = capture("AuthCert_GetAuthConfig.xml");
    let auth = obj(&auth[0]);
    assert!(captured(auth.prop("CurrentCertificateThumbprint")).is_some());
    let lab_auth = lab_call("Get-AuthConfig");
    let Value::Object(o) = &lab_auth[0] else {
        panic!("{lab_auth:?}")
    };
    assert_eq!(
        text(o.get("CurrentCertificateThumbprint")).as_deref(),
        Some(WEB)
    );
    assert_eq!(o.type_names[0], auth.type_names[0]);
}
