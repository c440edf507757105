//! The configuration files a lab server holds under its Exchange install
//! path: the `web.config` of every ClientAccess (back-end) and
//! FrontEnd\HttpProxy (front-end) virtual directory, the two
//! `SharedWebConfig.config` files and the transport services'
//! `Bin\*.exe.config` files — the set admins customise and a Cumulative
//! Update overwrites — and IIS's
//! `C:\Windows\System32\inetsrv\config\applicationHost.config` (its
//! sites, bindings and redirects: [`APPLICATION_HOST`]). Their content is world state (it survives between
//! runs and changes when setup rewrites it or a script writes a file); the
//! stock text is this module's. It knows nothing about PowerShell.
//!
//! The `[[lab.server]] custom_app_settings` of the plan are placed in
//! `ClientAccess\Owa\web.config`'s `appSettings`. A real CU replaces these
//! files with the build's stock copies, dropping an admin's edits (why
//! Microsoft's CU guidance says to back up customised `web.config` and
//! `*.exe.config` files first): `World::revert_customisations` is that.

use serde::{Deserialize, Serialize};

use super::world::World;

/// One file's full path and text, and when it was last written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    pub full_name: String,
    pub content: SharedText,
    pub last_write_ms: i64,
}

/// A file's text, shared between copies of the world: the bulk of a
/// server's state (~80 KB of the ~90 KB), which the lab compares with its
/// last save after every call (`store/persist.rs`). Copies share the text,
/// and text a copy shares compares equal without being read; a write
/// replaces the whole text. Serialised as a plain string.
#[derive(Debug, Clone, Eq)]
pub struct SharedText(std::sync::Arc<str>);

impl PartialEq for SharedText {
    fn eq(&self, other: &SharedText) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl std::ops::Deref for SharedText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for SharedText {
    fn from(text: String) -> SharedText {
        SharedText(text.into())
    }
}

impl Serialize for SharedText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SharedText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SharedText, D::Error> {
        String::deserialize(d).map(SharedText::from)
    }
}

/// The virtual directories' folders, relative to the install path.
const BACKEND_VDIRS: &[(&str, &str)] = &[
    (r"ClientAccess\Owa", "Owa"),
    (r"ClientAccess\ecp", "Ecp"),
    (r"ClientAccess\Autodiscover", "Autodiscover"),
    (r"ClientAccess\exchweb\ews", "Ews"),
    (r"ClientAccess\mapi\emsmdb", "Mapi"),
    (r"ClientAccess\mapi\nspi", "Mapi"),
    (r"ClientAccess\Sync", "Eas"),
    (r"ClientAccess\PowerShell", "PowerShell"),
    (r"ClientAccess\RpcProxy", "RpcHttp"),
    (r"ClientAccess\OAB", "Oab"),
];

const FRONTEND_VDIRS: &[(&str, &str)] = &[
    (r"FrontEnd\HttpProxy\owa", "Owa"),
    (r"FrontEnd\HttpProxy\ecp", "Ecp"),
    (r"FrontEnd\HttpProxy\autodiscover", "Autodiscover"),
    (r"FrontEnd\HttpProxy\ews", "Ews"),
    (r"FrontEnd\HttpProxy\mapi", "Mapi"),
    (r"FrontEnd\HttpProxy\sync", "Eas"),
    (r"FrontEnd\HttpProxy\powershell", "PowerShell"),
    (r"FrontEnd\HttpProxy\rpc", "RpcHttp"),
    (r"FrontEnd\HttpProxy\oab", "Oab"),
];

/// The file the plan's `custom_app_settings` go into.
pub const CUSTOMISED_FILE: &str = r"ClientAccess\Owa\web.config";

/// Stock `appSettings` of a back-end vdir's web.config, by protocol.
fn backend_settings(protocol: &str) -> Vec<(&'static str, &'static str)> {
    match protocol {
        "Owa" => vec![
            ("owa.ClientLogging", "true"),
            ("LogonTimeout", "480"),
            ("OwaLightModeMaxAttachmentSize", "20480"),
            ("UseSecureConnections", "true"),
        ],
        "Ecp" => vec![("EcpLogging", "false"), ("MaxUploadFileSize", "10485760")],
        "Ews" => vec![("TraceEnabled", "false"), ("MaxRequestSize", "35000000")],
        "Eas" => vec![
            ("MinHeartbeatInterval", "60"),
            ("MaxHeartbeatInterval", "3540"),
            ("MaxDocumentDataSize", "10240000"),
        ],
        "Mapi" => vec![("MaxRequestsPerConnection", "100")],
        "PowerShell" => vec![("PowerShellMaxCommandLength", "32768")],
        _ => vec![("LoggingEnabled", "true")],
    }
}

/// The assemblies each web.config binds (codeBase into the install's bin).
const ASSEMBLIES: &[&str] = &[
    "Microsoft.Exchange.Common",
    "Microsoft.Exchange.Data",
    "Microsoft.Exchange.Data.Common",
    "Microsoft.Exchange.Data.Directory",
    "Microsoft.Exchange.Data.Storage",
    "Microsoft.Exchange.Diagnostics",
    "Microsoft.Exchange.HttpProxy.Common",
    "Microsoft.Exchange.Net",
    "Microsoft.Exchange.Rpc",
    "Microsoft.Exchange.Security",
];

fn settings_xml(settings: &[(String, String)]) -> String {
    let mut out = String::from("  <appSettings>\r\n");
    for (k, v) in settings {
        out.push_str(&format!(
            "    <add key=\"{}\" value=\"{}\" />\r\n",
            xml_escape(k),
            xml_escape(v)
        ));
    }
    out.push_str("  </appSettings>\r\n");
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn owned(settings: &[(&str, &str)]) -> Vec<(String, String)> {
    settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A virtual directory's web.config: appSettings, system.web and the
/// assembly bindings into the install's bin folder.
fn web_config(install: &str, protocol: &str, settings: &[(String, String)], front: bool) -> String {
    let bin = format!("file:///{install}bin\\");
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n");
    out.push_str(&settings_xml(settings));
    out.push_str("  <system.web>\r\n");
    out.push_str(
        "    <compilation defaultLanguage=\"c#\" debug=\"false\" batch=\"false\" targetFramework=\"4.8\" />\r\n",
    );
    out.push_str(
        "    <httpRuntime maxRequestLength=\"35000\" requestValidationMode=\"2.0\" />\r\n",
    );
    if front {
        out.push_str(&format!(
            "    <httpModules>\r\n      <add name=\"ProxyModule\" type=\"Microsoft.Exchange.HttpProxy.ProxyModule, Microsoft.Exchange.FrontEndHttpProxy\" protocol=\"{protocol}\" />\r\n    </httpModules>\r\n"
        ));
    }
    out.push_str("  </system.web>\r\n  <runtime>\r\n");
    out.push_str("    <gcServer enabled=\"true\" />\r\n");
    out.push_str("    <assemblyBinding xmlns=\"urn:schemas-microsoft-com:asm.v1\">\r\n");
    for a in ASSEMBLIES {
        out.push_str(&format!(
            "      <dependentAssembly>\r\n        <assemblyIdentity name=\"{a}\" publicKeyToken=\"31bf3856ad364e35\" culture=\"neutral\" />\r\n        <codeBase version=\"15.0.0.0\" href=\"{bin}{a}.dll\" />\r\n      </dependentAssembly>\r\n"
        ));
    }
    out.push_str("    </assemblyBinding>\r\n  </runtime>\r\n</configuration>\r\n");
    out
}

/// A service's `Bin\<exe>.config`.
fn exe_config(settings: &[(&str, &str)]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n  <runtime>\r\n    <gcServer enabled=\"true\" />\r\n    <generatePublisherEvidence enabled=\"false\" />\r\n  </runtime>\r\n{}</configuration>\r\n",
        settings_xml(&owned(settings))
    )
}

fn shared_web_config(install: &str, front: bool) -> String {
    let role = if front { "FrontEnd" } else { "ClientAccess" };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<configuration>\r\n{}  <system.web>\r\n    <machineKey validationKey=\"AutoGenerate,IsolateApps\" decryptionKey=\"AutoGenerate,IsolateApps\" validation=\"HMACSHA256\" />\r\n  </system.web>\r\n</configuration>\r\n",
        settings_xml(&owned(&[
            ("ExchangeInstallDir", install),
            ("ServerRole", role),
        ]))
    )
}

/// IIS's root configuration file, in `%windir%\system32\inetsrv\config`
/// (Microsoft Learn, "Introduction to ApplicationHost.config": the
/// definitions of all sites, applications and application pools).
pub const APPLICATION_HOST: &str = r"C:\Windows\System32\inetsrv\config\applicationHost.config";

/// A small applicationHost.config: the two sites an Exchange Mailbox server
/// has (Default Web Site on 80/443, Exchange Back End on 81/444, as the
/// lab's `Get-WebBinding` answers) and an empty `httpRedirect`, the element admins
/// set to send `/` to `/owa`. Whether a CU rewrites parts of this file is
/// UNVERIFIED (setup registers Exchange's IIS modules and, from 2019 CU14,
/// Extended Protection there); the lab rewrites it with the rest of the set
/// when setup succeeds, so an admin's edit shows as drift.
fn application_host() -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<configuration>\r\n  <system.applicationHost>\r\n    <sites>\r\n      <site name=\"Default Web Site\" id=\"1\">\r\n        <bindings>\r\n          <binding protocol=\"http\" bindingInformation=\"*:80:\" />\r\n          <binding protocol=\"https\" bindingInformation=\"*:443:\" />\r\n        </bindings>\r\n      </site>\r\n      <site name=\"Exchange Back End\" id=\"2\">\r\n        <bindings>\r\n          <binding protocol=\"http\" bindingInformation=\"*:81:\" />\r\n          <binding protocol=\"https\" bindingInformation=\"*:444:\" />\r\n        </bindings>\r\n      </site>\r\n    </sites>\r\n  </system.applicationHost>\r\n  <system.webServer>\r\n    <httpRedirect enabled=\"false\" />\r\n  </system.webServer>\r\n</configuration>\r\n".to_string()
}

/// The CU's stock files for an install at `install` (with its trailing
/// backslash), all written at `written_ms`.
pub fn stock_files(install: &str, written_ms: i64) -> Vec<ConfigFile> {
    let file = |rel: &str, content: String| ConfigFile {
        full_name: format!("{install}{rel}"),
        content: content.into(),
        last_write_ms: written_ms,
    };
    let mut out = Vec::new();
    for (dir, protocol) in BACKEND_VDIRS {
        let settings = owned(&backend_settings(protocol));
        out.push(file(
            &format!(r"{dir}\web.config"),
            web_config(install, protocol, &settings, false),
        ));
    }
    for (dir, protocol) in FRONTEND_VDIRS {
        let settings = owned(&[
            ("HttpProxy.ProtocolType", protocol),
            ("LogonTimeout", "480"),
        ]);
        out.push(file(
            &format!(r"{dir}\web.config"),
            web_config(install, protocol, &settings, true),
        ));
    }
    out.push(file(
        r"ClientAccess\SharedWebConfig.config",
        shared_web_config(install, false),
    ));
    out.push(file(
        r"FrontEnd\HttpProxy\SharedWebConfig.config",
        shared_web_config(install, true),
    ));
    out.push(file(
        r"Bin\EdgeTransport.exe.config",
        exe_config(&[
            ("QueueDatabasePath", ""),
            ("QueueDatabaseLoggingPath", ""),
            ("DatabaseMaxCacheSize", "134217728"),
        ]),
    ));
    out.push(file(
        r"Bin\MSExchangeFrontEndTransport.exe.config",
        exe_config(&[("MaxConcurrentMessageSubmissions", "20")]),
    ));
    out.push(file(
        r"Bin\MSExchangeDelivery.exe.config",
        exe_config(&[("MaxConcurrentMailboxDeliveries", "20")]),
    ));
    out.push(file(
        r"Bin\MSExchangeSubmission.exe.config",
        exe_config(&[("MaxConcurrentSubmissions", "20")]),
    ));
    out.push(ConfigFile {
        full_name: APPLICATION_HOST.to_string(),
        content: application_host().into(),
        last_write_ms: written_ms,
    });
    out
}

/// The files of a server as the plan describes it: stock, with the
/// admin's `custom` appSettings in `CUSTOMISED_FILE` (a key the stock file
/// has takes the admin's value; a new key is added at the end).
pub fn initial_files(
    install: &str,
    custom: &[(String, String)],
    written_ms: i64,
) -> Vec<ConfigFile> {
    let mut files = stock_files(install, written_ms);
    if custom.is_empty() {
        return files;
    }
    let mut settings = owned(&backend_settings("Owa"));
    for (k, v) in custom {
        match settings.iter_mut().find(|(sk, _)| sk == k) {
            Some(slot) => slot.1 = v.clone(),
            None => settings.push((k.clone(), v.clone())),
        }
    }
    let target = format!("{install}{CUSTOMISED_FILE}");
    if let Some(f) = files.iter_mut().find(|f| f.full_name == target) {
        f.content = web_config(install, "Owa", &settings, false).into();
    }
    files
}

impl World {
    /// What a successful CU setup does to the config files: every one is
    /// rewritten with the CU's stock content (now), so the admin's
    /// customisations are gone. The rollout's setup simulation calls this
    /// when setup succeeds. Unknown servers are ignored.
    pub fn revert_customisations(&mut self, server: &str) {
        let now = self.now_ms;
        let Some(i) = self.server_index(server) else {
            return;
        };
        let s = &mut self.servers[i];
        s.config_files = stock_files(&s.install_path, now);
        s.app_settings.clear();
    }

    /// Writes `content` to the file `full_name` on server `index` (creating
    /// it when new), as `[System.IO.File]::WriteAllBytes` does.
    pub fn write_config_file(&mut self, index: usize, full_name: &str, content: String) {
        let now = self.now_ms;
        let s = &mut self.servers[index];
        match s
            .config_files
            .iter_mut()
            .find(|f| f.full_name.eq_ignore_ascii_case(full_name))
        {
            Some(f) => {
                f.content = content.into();
                f.last_write_ms = now;
            }
            None => s.config_files.push(ConfigFile {
                full_name: full_name.to_string(),
                content: content.into(),
                last_write_ms: now,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &str = r"C:\Program Files\Microsoft\Exchange Server\V15\";

    #[test]
    fn the_full_set_is_there_and_parses() {
        let files = stock_files(IP, 0);
        assert_eq!(files.len(), 10 + 9 + 2 + 4 + 1);
        for f in &files {
            assert!(f.full_name.starts_with(IP) || f.full_name == APPLICATION_HOST);
            assert!(
                roxmltree::Document::parse(&f.content).is_ok(),
                "{} is well-formed XML",
                f.full_name
            );
        }
    }

    #[test]
    fn customisations_go_into_the_owa_web_config() {
        let custom = vec![
            ("BackEndProxyTimeout".to_string(), "00:05:00".to_string()),
            ("LogonTimeout".to_string(), "720".to_string()),
        ];
        let files = initial_files(IP, &custom, 0);
        let owa = files
            .iter()
            .find(|f| f.full_name.ends_with(CUSTOMISED_FILE))
            .unwrap();
        assert!(owa
            .content
            .contains("<add key=\"BackEndProxyTimeout\" value=\"00:05:00\" />"));
        assert!(owa
            .content
            .contains("<add key=\"LogonTimeout\" value=\"720\" />"));
        assert!(!owa.content.contains("value=\"480\""));
        let stock = stock_files(IP, 0);
        assert_eq!(
            files.iter().filter(|f| !stock.contains(f)).count(),
            1,
            "only the OWA web.config differs from stock"
        );
    }
}
