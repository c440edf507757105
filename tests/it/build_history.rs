//! `cu-roll report` on lab DAGs whose members sit on a spread of builds —
//! every 2016 CU, every 2019 CU from RTM, SE RTM and each of its updates,
//! and 2013 (issue 14's "Done when"): every build
//! is named from the catalogue, an older CU of the same product is `ready`
//! when its prerequisites are met, and a server whose .NET shares no
//! version with the target is blocked with the path to take.

use cu_roll::catalog::{Catalog, CuInfo, Product};

use crate::harness::Env;

/// One lab server of the plan: name, build, .NET `Release`, OS caption.
struct Member {
    name: String,
    build: String,
    dotnet: u32,
    os: &'static str,
}

/// The newest .NET a CU supports that exists on Windows Server 2016/2019
/// (no 4.8.1 there): what an admin who kept .NET current for the CU has.
fn newest_dotnet(cu: &CuInfo) -> u32 {
    *cu.prerequisites
        .dotnet_supported
        .iter()
        .filter(|r| **r != 533320)
        .max()
        .unwrap()
}

fn member(cu: &CuInfo, os: &'static str) -> Member {
    Member {
        name: format!("EX{}", cu.id.replace('-', "")),
        build: cu.build.to_string(),
        dotnet: newest_dotnet(cu),
        os,
    }
}

/// A lab plan: one DAG with every member, DB01 on the first three (two
/// healthy copies stay while one is upgraded, as a large DAG needs), the target
/// media, AD prepared for the target.
fn plan(target: &CuInfo, members: &[Member]) -> String {
    let mut text = format!(
        r#"[rollout]
target = "{id}"
security_update = "none"
setup_path = 'D:\Setup.exe'
diagnostic_data = "off"
# 2019 CU14+/SE setup turns Extended Protection on; members below CU14 do
# not run it, so the plan says what it wants (pre-flight `extended-protection`).
extended_protection = "enable"

[connection]
transport = "lab"

[policy]
min_healthy_copies = 1
prepare_ad = "block"
poll_interval = "200ms"

[lab]
base_port = 25985
username = "lab\\admin"
password = "lab-only-password"

[lab.ad]
schema_range_upper = {schema}
org_object_version = {org}
domain_object_version = {domain}
organization = "Contoso"
domain_dn = "DC=contoso,DC=local"

[[lab.media]]
path = 'D:\Setup.exe'
build = "{build}"

[[lab.database]]
name = "DB01"
copies = ["{first}", "{second}", "{third}"]
active = "{first}"
"#,
        id = target.id,
        schema = target.ad.schema_range_upper,
        org = target.ad.org_object_version,
        domain = target.ad.domain_object_version,
        build = target.build,
        first = members[0].name,
        second = members[1].name,
        third = members[2].name,
    );
    for m in members {
        let fqdn = format!("{}.contoso.local", m.name.to_ascii_lowercase());
        text.push_str(&format!(
            "\n[[server]]\nname = \"{name}\"\nfqdn = \"{fqdn}\"\ndag = \"DAG01\"\n\n[[lab.server]]\nname = \"{name}\"\nfqdn = \"{fqdn}\"\nbuild = \"{build}\"\ndotnet_release = {dotnet}\nos = \"{os}\"\nvcredist_2012 = 184610406\nvcredist_2013 = 201367256\nucma = true\nurl_rewrite = true\nsystem_drive_free_gb = 100\nqueue_messages = 0\n",
            name = m.name,
            build = m.build,
            dotnet = m.dotnet,
            os = m.os,
        ));
    }
    text
}

fn cus(product: Product) -> Vec<&'static CuInfo> {
    Catalog::embedded()
        .cus()
        .iter()
        .filter(|c| c.product == product)
        .collect()
}

fn report(name: &str, text: &str) -> serde_json::Value {
    let env = Env::new();
    let path = env.write_plan(name, text);
    env.run(&["report", path.to_str().unwrap(), "--format", "json"])
        .expect_code(3)
        .json()
}

fn server<'a>(j: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    j["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

fn blockers(s: &serde_json::Value) -> Vec<String> {
    s["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect()
}

const WS2016: &str = "Microsoft Windows Server 2016 Datacenter";
const WS2019: &str = "Microsoft Windows Server 2019 Datacenter";

#[test]
fn every_2016_cu_is_named_and_older_cus_are_ready_when_dotnet_allows() {
    let all = cus(Product::Exchange2016);
    assert_eq!(all.len(), 23, "2016 CU1–CU23");
    let target = *all.last().unwrap();
    // CU23, CU22 and CU21 first: they hold DB01.
    let mut members: Vec<Member> = all.iter().rev().map(|c| member(c, WS2016)).collect();
    // A server already in the unsupported interval: CU10 on .NET 4.8.
    let mut interval = member(Catalog::embedded().cu_by_id("2016-CU10").unwrap(), WS2016);
    interval.name = "EX2016CU10NET48".into();
    interval.dotnet = 528040;
    members.push(interval);
    // Exchange 2013 in the same organisation: named, not upgradable.
    members.push(member(
        Catalog::embedded().cu_by_id("2013-CU23").unwrap(),
        WS2016,
    ));
    let j = report("history-2016.toml", &plan(target, &members));

    for cu in &all {
        let s = server(&j, &format!("EX{}", cu.id.replace('-', "")));
        assert_eq!(s["build_name"], cu.display_name().as_str(), "{s:#}");
        let n: u32 = cu.cu.trim_start_matches("CU").parse().unwrap();
        let b = blockers(s);
        if n >= 13 {
            // .NET 4.8 is supported by CU13 onwards: prerequisites met.
            let expected = if n == 23 { "up-to-date" } else { "ready" };
            assert_eq!(s["verdict"], expected, "{}: {b:#?}", cu.id);
            assert!(b.is_empty(), "{}: {b:#?}", cu.id);
        } else {
            assert_eq!(s["verdict"], "blocked", "{}", cu.id);
            assert!(
                b.iter().any(|b| b.contains("Microsoft's documented path")),
                "{}: {b:#?}",
                cu.id
            );
            assert!(
                !b.iter().any(|b| b.contains("catalogue")),
                "{}: {b:#?}",
                cu.id
            );
        }
    }
    let cu10 = blockers(server(&j, "EX2016CU10"));
    assert!(
        cu10.iter().any(|b| b.contains(
            "install .NET 4.7.1 and upgrade to Exchange Server 2016 CU12, then install .NET 4.7.2 and upgrade to Exchange Server 2016 CU14, then install .NET 4.8 and upgrade to Exchange Server 2016 CU23"
        ) && b.contains("the interval between, Exchange Server 2016 CU10 on .NET 4.8, is unsupported")),
        "{cu10:#?}"
    );
    let interval = server(&j, "EX2016CU10NET48");
    assert_eq!(interval["verdict"], "ready", "{interval:#}");
    assert!(
        interval["warnings"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("a combination Microsoft does not support")),
        "{interval:#}"
    );
    let ex2013 = server(&j, "EX2013CU23");
    assert_eq!(ex2013["build_name"], "Exchange Server 2013 CU23");
    assert!(
        blockers(ex2013)
            .iter()
            .any(|b| b.contains("Exchange Server 2013 is a different product")),
        "{ex2013:#}"
    );
}

#[test]
fn every_2019_cu_and_se_is_named_and_cu9_to_cu15_is_ready() {
    let all = cus(Product::Exchange2019);
    assert_eq!(all.len(), 16, "2019 RTM–CU15");
    let target = *all.last().unwrap();
    let mut members: Vec<Member> = all.iter().rev().map(|c| member(c, WS2019)).collect();
    let se = Catalog::embedded().cu_by_id("SE-RTM").unwrap();
    members.push(member(se, WS2019));
    // An SU build of an old CU, and a build newer than the catalogue.
    let cu9 = Catalog::embedded().cu_by_id("2019-CU9").unwrap();
    members.push(Member {
        name: "EXCU9SU".into(),
        build: cu9.su_by_name("Jul21SU").unwrap().build.to_string(),
        dotnet: 528040,
        os: WS2019,
    });
    members.push(Member {
        name: "EXNEWER".into(),
        build: "15.2.1748.99".into(),
        dotnet: 528040,
        os: WS2019,
    });
    let j = report("history-2019.toml", &plan(target, &members));

    for cu in &all {
        let s = server(&j, &format!("EX{}", cu.id.replace('-', "")));
        assert_eq!(s["build_name"], cu.display_name().as_str(), "{s:#}");
        let b = blockers(s);
        if cu.id == "2019-RTM" || cu.id == "2019-CU1" {
            // .NET 4.7.2 only: through CU2/CU3 (4.7.2 and 4.8) to CU15.
            assert_eq!(s["verdict"], "blocked");
            assert!(
                b.iter().any(|b| b.contains(
                    "install .NET 4.7.2 and upgrade to Exchange Server 2019 CU3, then install .NET 4.8 and upgrade to Exchange Server 2019 CU15"
                )),
                "{}: {b:#?}",
                cu.id
            );
        } else {
            let expected = if cu.id == "2019-CU15" {
                "up-to-date"
            } else {
                "ready"
            };
            assert_eq!(s["verdict"], expected, "{}: {b:#?}", cu.id);
            assert!(b.is_empty(), "{}: {b:#?}", cu.id);
        }
    }
    let cu9 = server(&j, "EX2019CU9");
    assert_eq!(cu9["needs_upgrade"], true);
    assert_eq!(
        server(&j, "EXCU9SU")["build_name"],
        "Exchange Server 2019 CU9 Jul21SU"
    );
    assert_eq!(server(&j, "EXCU9SU")["verdict"], "ready");
    let se_server = server(&j, "EXSERTM");
    assert_eq!(se_server["build_name"], "Exchange Server SE RTM");
    assert!(
        se_server["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("already beyond the target")),
        "{se_server:#}"
    );
    // A build newer than the catalogue: blocked, and the report says how old the catalogue is.
    let newer = server(&j, "EXNEWER");
    assert!(
        blockers(newer)
            .iter()
            .any(|b| b.contains("which is current to 2026-05-29")),
        "{newer:#}"
    );
    let notes: Vec<&str> = j["target"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("current to 2026-05-29")
            && n.contains("EXNEWER runs a build newer than anything it lists")),
        "{notes:#?}"
    );
}

#[test]
fn every_2019_cu_moving_to_se_is_named_and_se_updates_are_named() {
    let catalog = Catalog::embedded();
    let target = catalog.cu_by_id("SE-RTM").unwrap();
    let mut members: Vec<Member> = cus(Product::Exchange2019)
        .iter()
        .rev()
        .map(|c| member(c, WS2019))
        .collect();
    // SE RTM's own updates, SU and HU: named as such, up to date or beyond.
    for su in &target.security_updates {
        members.push(Member {
            name: format!("EXSE{}", su.name.to_ascii_uppercase()),
            build: su.build.to_string(),
            dotnet: 528040,
            os: WS2019,
        });
    }
    let j = report("history-se.toml", &plan(target, &members));
    for cu in cus(Product::Exchange2019) {
        let s = server(&j, &format!("EX{}", cu.id.replace('-', "")));
        assert_eq!(s["build_name"], cu.display_name().as_str(), "{s:#}");
        let b = blockers(s);
        if cu.id == "2019-CU14" || cu.id == "2019-CU15" {
            assert_eq!(s["verdict"], "ready", "{}: {b:#?}", cu.id);
            assert!(b.is_empty(), "{}: {b:#?}", cu.id);
        } else {
            // Microsoft Learn, "Upgrade to Exchange Server SE": in place
            // from 2019 CU14 or CU15 only (data/catalog.toml's sources).
            assert_eq!(s["verdict"], "blocked", "{}", cu.id);
            assert!(
                b.iter().any(|b| b.contains(
                    "supported only from Exchange Server 2019 CU14 or CU15; roll the DAG to 2019 CU14 or CU15 first, then to SE"
                )),
                "{}: {b:#?}",
                cu.id
            );
        }
    }
    for su in &target.security_updates {
        let s = server(&j, &format!("EXSE{}", su.name.to_ascii_uppercase()));
        assert_eq!(
            s["build_name"],
            format!("Exchange Server SE RTM {}", su.name).as_str(),
            "{s:#}"
        );
        assert_ne!(s["verdict"], "blocked", "{s:#}");
    }
}
