use super::*;

/// An OWA back-end web.config as an admin left it: two customised
/// settings (one changed stock value, one added key), a raised request
/// limit and an extra binding.
const BEFORE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <configSections>
    <sectionGroup name="system.web.extensions" type="System.Web.Configuration.SystemWebExtensionsSectionGroup" />
  </configSections>
  <appSettings>
    <add key="owa.ClientLogging" value="true" />
    <add key="LogonTimeout" value="720" />
    <add key="OwaLightModeMaxAttachmentSize" value="20480" />
    <add key="BackEndProxyTimeout" value="00:05:00" />
  </appSettings>
  <location path="auth">
    <system.web>
      <authorization><allow users="*" /></authorization>
    </system.web>
  </location>
  <system.web>
    <compilation defaultLanguage="c#" debug="false" batch="false" targetFramework="4.8" />
    <httpRuntime maxRequestLength="65536" requestValidationMode="2.0" />
    <machineKey validationKey="AutoGenerate,IsolateApps" />
  </system.web>
  <runtime>
    <assemblyBinding xmlns="urn:schemas-microsoft-com:asm.v1">
      <dependentAssembly>
        <assemblyIdentity name="Microsoft.Exchange.Data" publicKeyToken="31bf3856ad364e35" culture="neutral" />
        <codeBase version="15.0.0.0" href="file:///C:\Program Files\Microsoft\Exchange Server\V15\bin\Microsoft.Exchange.Data.dll" />
      </dependentAssembly>
      <dependentAssembly>
        <assemblyIdentity name="Contoso.OwaAddin" publicKeyToken="0123456789abcdef" culture="neutral" />
        <codeBase version="1.0.0.0" href="file:///C:\Contoso\Contoso.OwaAddin.dll" />
      </dependentAssembly>
    </assemblyBinding>
  </runtime>
</configuration>
"#;

/// The same file after the CU: stock values back, the admin's key and
/// binding gone, a new stock key, the request limit back to stock.
const AFTER: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <configSections>
    <sectionGroup name="system.web.extensions" type="System.Web.Configuration.SystemWebExtensionsSectionGroup" />
  </configSections>
  <appSettings>
    <add key="owa.ClientLogging" value="true" />
    <add key="LogonTimeout" value="480" />
    <add key="OwaLightModeMaxAttachmentSize" value="20480" />
    <add key="owa.SerializeUserContext" value="false" />
  </appSettings>
  <location path="auth">
    <system.web>
      <authorization><allow users="*" /></authorization>
    </system.web>
  </location>
  <system.web>
    <compilation defaultLanguage="c#" debug="false" batch="false" targetFramework="4.8" />
    <httpRuntime maxRequestLength="35000" requestValidationMode="2.0" />
    <machineKey validationKey="AutoGenerate,IsolateApps" />
  </system.web>
  <runtime>
    <assemblyBinding xmlns="urn:schemas-microsoft-com:asm.v1">
      <dependentAssembly>
        <assemblyIdentity name="Microsoft.Exchange.Data" publicKeyToken="31bf3856ad364e35" culture="neutral" />
        <codeBase version="15.0.0.0" href="file:///C:\Program Files\Microsoft\Exchange Server\V15\bin\Microsoft.Exchange.Data.dll" />
      </dependentAssembly>
    </assemblyBinding>
  </runtime>
</configuration>
"#;

fn owa_drift() -> FileDrift {
    diff_file(
        r"C:\V15\ClientAccess\Owa\web.config",
        "ClientAccess/Owa/web.config",
        Some(BEFORE.as_bytes()),
        Some(AFTER.as_bytes()),
    )
}

#[test]
fn app_settings_added_removed_and_changed_are_reported_with_values() {
    let d = owa_drift();
    assert_eq!(d.status, FileStatus::Changed);
    assert_eq!(
        d.app_settings,
        vec![
            SettingChange {
                key: "LogonTimeout".into(),
                change: ChangeKind::Changed,
                old: Some("720".into()),
                new: Some("480".into()),
                reverted: true,
            },
            SettingChange {
                key: "BackEndProxyTimeout".into(),
                change: ChangeKind::Removed,
                old: Some("00:05:00".into()),
                new: None,
                reverted: true,
            },
            SettingChange {
                key: "owa.SerializeUserContext".into(),
                change: ChangeKind::Added,
                old: None,
                new: Some("false".into()),
                reverted: false,
            },
        ]
    );
}

#[test]
fn other_changes_are_counted_with_their_locations() {
    let o = owa_drift().other;
    assert_eq!(o.attributes_changed, 1);
    // The admin's dependentAssembly and its two children.
    assert_eq!(o.elements_removed, 3);
    assert_eq!(o.elements_added, 0);
    assert_eq!(
        o.locations[0],
        Location {
            change: ChangeKind::Changed,
            xpath: "/configuration/system.web/httpRuntime/@maxRequestLength".into(),
            old: Some("65536".into()),
            new: Some("35000".into()),
        }
    );
    // Only the top of the removed subtree is listed.
    assert_eq!(o.locations.len(), 2);
    assert_eq!(
        o.locations[1].xpath,
        "/configuration/runtime/assemblyBinding/dependentAssembly[assemblyIdentity/@name='Contoso.OwaAddin']"
    );
}

#[test]
fn identical_bytes_are_unchanged_and_carry_no_detail() {
    let d = diff_file("p", "e", Some(BEFORE.as_bytes()), Some(BEFORE.as_bytes()));
    assert_eq!(d.status, FileStatus::Unchanged);
    assert!(d.app_settings.is_empty() && d.other.is_empty());
}

#[test]
fn reformatting_alone_is_no_setting_change() {
    let reformatted = BEFORE.replace("    <add", "\t<add").replace("\n", "\r\n");
    let d = diff_file(
        "p",
        "e",
        Some(BEFORE.as_bytes()),
        Some(reformatted.as_bytes()),
    );
    assert_eq!(d.status, FileStatus::Changed);
    assert!(d.app_settings.is_empty());
    assert!(d.other.is_empty(), "{:?}", d.other);
}

#[test]
fn remove_and_clear_apply_in_order_as_dotnet_does() {
    let old = r#"<configuration><appSettings><add key="A" value="1"/><add key="B" value="2"/><remove key="A"/></appSettings></configuration>"#;
    let new = r#"<configuration><appSettings><add key="A" value="1"/><clear/><add key="C" value="3"/></appSettings></configuration>"#;
    let d = diff_file("p", "e", Some(old.as_bytes()), Some(new.as_bytes()));
    let keys: Vec<(&str, ChangeKind)> = d
        .app_settings
        .iter()
        .map(|s| (s.key.as_str(), s.change))
        .collect();
    assert_eq!(
        keys,
        vec![("B", ChangeKind::Removed), ("C", ChangeKind::Added)]
    );
}

#[test]
fn a_file_gone_now_reverts_every_setting_it_had() {
    let d = diff_file(
        "p",
        "Bin/EdgeTransport.exe.config",
        Some(BEFORE.as_bytes()),
        None,
    );
    assert_eq!(d.status, FileStatus::Missing);
    assert_eq!(d.app_settings.len(), 4);
    assert!(d.app_settings.iter().all(|s| s.reverted));
}

#[test]
fn a_bom_and_utf16_are_read() {
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(AFTER.as_bytes());
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(BEFORE.encode_utf16().flat_map(u16::to_le_bytes));
    let d = diff_file("p", "e", Some(&utf16), Some(&bom));
    assert_eq!(d.app_settings.len(), 3);
    assert!(d.note.is_none());
}

#[test]
fn broken_xml_is_compared_as_bytes_with_a_note() {
    let d = diff_file(
        "p",
        "e",
        Some(BEFORE.as_bytes()),
        Some(b"<configuration><appSettings>"),
    );
    assert_eq!(d.status, FileStatus::Changed);
    assert!(d.note.as_deref().unwrap().contains("not well-formed XML"));
}

#[test]
fn the_text_rendering_marks_reverted_keys_and_says_how_to_restore() {
    let report = DriftReport {
        server: "EX02".into(),
        backup: "EX02-20260110T083000Z.zip".into(),
        backup_created: "2026-01-10T08:30:00Z".into(),
        baseline: String::new(),
        files: vec![
            owa_drift(),
            diff_file(
                "q",
                "Bin/EdgeTransport.exe.config",
                Some(b"<c/>"),
                Some(b"<c/>"),
            ),
        ],
        warnings: vec![],
    };
    let text = report.to_text("plans/q3.toml");
    assert!(
        text.contains("REVERTED  LogonTimeout: '720' -> '480'"),
        "{text}"
    );
    assert!(text.contains("REVERTED  BackEndProxyTimeout: '00:05:00' -> (absent)"));
    assert!(text.contains("added     owa.SerializeUserContext: (absent) -> 'false'"));
    assert!(text
        .contains("~ /configuration/system.web/httpRuntime/@maxRequestLength: '65536' -> '35000'"));
    assert!(text.contains("1 file(s) unchanged."));
    assert!(text.contains("2 setting(s) in 1 file(s)"));
    // Two keys: the plan's real path, and KEY for the one to choose.
    assert!(text.contains(
        "Re-apply one with `cu-roll restore-config plans/q3.toml --server EX02 --key KEY`"
    ));
    assert_eq!(report.reverted().len(), 2);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["files"][0]["app_settings"][0]["reverted"], true);
    assert_eq!(json["files"][0]["status"], "changed");
}
