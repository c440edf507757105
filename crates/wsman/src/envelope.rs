//! WS-Management (MS-WSMV) SOAP 1.2 envelopes for the Windows Remote Shell
//! operations, and namespace-aware reading of the answers. Building is
//! plain text with every value escaped; reading goes through `roxmltree`
//! and matches elements by namespace URI and local name, never by prefix
//! (Windows writes `s:`/`a:`/`w:`, other stacks `env:`/`wsa:`/`wsman:`).
//! No I/O here: `client` sends what this builds.

use std::time::Duration;

pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
pub const NS_MS_WSMAN: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
pub const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
pub const NS_TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
pub const NS_WSMAN_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";

/// The resource URI of a `cmd.exe` remote shell (what `winrs` opens).
pub const RESOURCE_CMD: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

pub const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
pub const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
pub const ACTION_COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
pub const ACTION_SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
pub const ACTION_RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
pub const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
pub const ACTION_FAULT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";
pub const SIGNAL_TERMINATE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate";
pub const STATE_DONE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
pub const STATE_RUNNING: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";

/// `w:TimedOut`'s WSManFault code: the Receive long-poll ended with no
/// output yet — poll again.
pub const CODE_TIMED_OUT: &str = "2150858793";

/// Windows' default MaxEnvelopeSizekb is 500; 150 KiB is what winrs asks for.
pub const MAX_ENVELOPE_SIZE: u32 = 153_600;

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `xs:duration` seconds as WS-Management writes them (`PT20.000S`).
pub fn duration_text(d: Duration) -> String {
    format!("PT{}.{:03}S", d.as_secs(), d.subsec_millis())
}

/// Parses the simple `xs:duration` forms WS-Management clients send
/// (`PT20S`, `PT20.5S`, `PT1M30S`, `PT1H`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let rest = text.trim().strip_prefix("PT")?;
    let mut total = 0f64;
    let mut num = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'H' | 'M' | 'S' => {
                let v: f64 = num.parse().ok()?;
                num.clear();
                total += v * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
            }
            _ => return None,
        }
    }
    if !num.is_empty() {
        return None;
    }
    // `from_secs_f64` panics past Duration's range (`PT1e400S` is a
    // peer's to send): out of range is simply not a duration.
    Duration::try_from_secs_f64(total).ok()
}

/// What every request header carries besides its action.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    /// The endpoint URL (`http://host:5985/wsman`).
    pub to: &'a str,
    /// `uuid:…` — fresh per message.
    pub message_id: &'a str,
    pub operation_timeout: Duration,
    /// The shell the operation addresses; `None` for Create.
    pub shell_id: Option<&'a str>,
}

fn envelope(h: &Header<'_>, action: &str, options: &[(&str, &str)], body: &str) -> String {
    let mut x = String::with_capacity(2048 + body.len());
    x.push_str(concat!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"",
        " xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\"",
        " xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"",
        " xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\"",
        " xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\">",
        "<s:Header>"
    ));
    x.push_str(&format!("<a:To>{}</a:To>", xml_escape(h.to)));
    x.push_str(&format!(
        "<a:ReplyTo><a:Address s:mustUnderstand=\"true\">{ANONYMOUS}</a:Address></a:ReplyTo>"
    ));
    x.push_str(&format!(
        "<w:MaxEnvelopeSize s:mustUnderstand=\"true\">{MAX_ENVELOPE_SIZE}</w:MaxEnvelopeSize>"
    ));
    x.push_str(&format!(
        "<a:MessageID>{}</a:MessageID>",
        xml_escape(h.message_id)
    ));
    x.push_str("<w:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>");
    x.push_str("<p:DataLocale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>");
    x.push_str(&format!(
        "<w:OperationTimeout>{}</w:OperationTimeout>",
        duration_text(h.operation_timeout)
    ));
    x.push_str(&format!(
        "<w:ResourceURI s:mustUnderstand=\"true\">{RESOURCE_CMD}</w:ResourceURI>"
    ));
    x.push_str(&format!(
        "<a:Action s:mustUnderstand=\"true\">{action}</a:Action>"
    ));
    if let Some(id) = h.shell_id {
        x.push_str(&format!(
            "<w:SelectorSet><w:Selector Name=\"ShellId\">{}</w:Selector></w:SelectorSet>",
            xml_escape(id)
        ));
    }
    if !options.is_empty() {
        x.push_str("<w:OptionSet>");
        for (name, value) in options {
            x.push_str(&format!(
                "<w:Option Name=\"{}\">{}</w:Option>",
                xml_escape(name),
                xml_escape(value)
            ));
        }
        x.push_str("</w:OptionSet>");
    }
    x.push_str("</s:Header><s:Body>");
    x.push_str(body);
    x.push_str("</s:Body></s:Envelope>");
    x
}

/// Create a `cmd` shell: no user profile (faster, and what a service
/// account has anyway), UTF-8 code page so non-ASCII output survives.
pub fn create_shell(h: &Header<'_>) -> String {
    envelope(
        h,
        ACTION_CREATE,
        &[("WINRS_NOPROFILE", "TRUE"), ("WINRS_CODEPAGE", "65001")],
        "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>",
    )
}

/// Start `command` with `arguments` in the shell. Arguments are passed as
/// given: the remote side joins them with spaces into one command line.
pub fn command(h: &Header<'_>, command: &str, arguments: &[&str]) -> String {
    let mut body = format!(
        "<rsp:CommandLine><rsp:Command>{}</rsp:Command>",
        xml_escape(command)
    );
    for a in arguments {
        body.push_str(&format!("<rsp:Arguments>{}</rsp:Arguments>", xml_escape(a)));
    }
    body.push_str("</rsp:CommandLine>");
    envelope(
        h,
        ACTION_COMMAND,
        &[
            ("WINRS_CONSOLEMODE_STDIN", "TRUE"),
            ("WINRS_SKIP_CMD_SHELL", "FALSE"),
        ],
        &body,
    )
}

/// Send one chunk of stdin (already base64); `end` closes the stream.
pub fn send(h: &Header<'_>, command_id: &str, chunk_b64: &str, end: bool) -> String {
    let end_attr = if end { " End=\"true\"" } else { "" };
    envelope(
        h,
        ACTION_SEND,
        &[],
        &format!(
            "<rsp:Send><rsp:Stream Name=\"stdin\" CommandId=\"{}\"{end_attr}>{}</rsp:Stream></rsp:Send>",
            xml_escape(command_id),
            chunk_b64
        ),
    )
}

/// Long-poll for output of `command_id`.
pub fn receive(h: &Header<'_>, command_id: &str) -> String {
    envelope(
        h,
        ACTION_RECEIVE,
        &[("WSMAN_CMDSHELL_OPTION_KEEPALIVE", "TRUE")],
        &format!(
            "<rsp:Receive><rsp:DesiredStream CommandId=\"{}\">stdout stderr</rsp:DesiredStream></rsp:Receive>",
            xml_escape(command_id)
        ),
    )
}

/// Ask the command to terminate (also releases its resources when done).
pub fn signal_terminate(h: &Header<'_>, command_id: &str) -> String {
    envelope(
        h,
        ACTION_SIGNAL,
        &[],
        &format!(
            "<rsp:Signal CommandId=\"{}\"><rsp:Code>{SIGNAL_TERMINATE}</rsp:Code></rsp:Signal>",
            xml_escape(command_id)
        ),
    )
}

/// Delete the shell.
pub fn delete_shell(h: &Header<'_>) -> String {
    envelope(h, ACTION_DELETE, &[], "")
}

/// Errors reading an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the answer is not well-formed XML: {0}")]
    Xml(String),
    #[error("the answer has no {0} element")]
    Missing(&'static str),
    #[error("the answer's {what} is not valid: {value:?}")]
    Invalid { what: &'static str, value: String },
}

/// A SOAP fault as WinRM reports it: the WSManFault code (a Win32/WSMan
/// error number) when present, the SOAP subcode, and the message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: Option<String>,
    pub subcode: Option<String>,
    pub message: String,
}

impl Fault {
    /// The long-poll ended without output: not an error, poll again.
    pub fn is_timed_out(&self) -> bool {
        self.code.as_deref() == Some(CODE_TIMED_OUT)
            || self
                .subcode
                .as_deref()
                .is_some_and(|s| s.ends_with(":TimedOut") || s == "TimedOut")
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.code, &self.subcode) {
            (Some(c), _) => write!(f, "WS-Management fault {c}: {}", self.message),
            (None, Some(s)) => write!(f, "WS-Management fault {s}: {}", self.message),
            (None, None) => write!(f, "WS-Management fault: {}", self.message),
        }
    }
}

pub fn parse(xml: &str) -> Result<roxmltree::Document<'_>, ParseError> {
    roxmltree::Document::parse(xml).map_err(|e| ParseError::Xml(e.to_string()))
}

/// The first element anywhere under `node` named `{ns}name`.
pub fn find<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    ns: &str,
    name: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    node.descendants().find(|n| {
        n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns)
    })
}

/// The trimmed text of the first `{ns}name` element.
pub fn find_text(doc: &roxmltree::Document<'_>, ns: &str, name: &str) -> Option<String> {
    find(doc.root(), ns, name).map(|n| n.text().unwrap_or("").trim().to_string())
}

/// The fault in an answer, if it is one.
pub fn fault(doc: &roxmltree::Document<'_>) -> Option<Fault> {
    let f = find(doc.root(), NS_SOAP, "Fault")?;
    let subcode = find(f, NS_SOAP, "Subcode")
        .and_then(|s| find(s, NS_SOAP, "Value"))
        .and_then(|v| v.text())
        .map(|t| t.trim().to_string());
    let wsman = find(f, NS_WSMAN_FAULT, "WSManFault");
    let code = wsman.and_then(|w| w.attribute("Code")).map(str::to_string);
    let message = wsman
        .and_then(|w| find(w, NS_WSMAN_FAULT, "Message"))
        .map(|m| m.descendants().filter_map(|d| d.text()).collect::<String>())
        .or_else(|| {
            find(f, NS_SOAP, "Text")
                .and_then(|t| t.text())
                .map(str::to_string)
        })
        .unwrap_or_default()
        .trim()
        .to_string();
    Some(Fault {
        code,
        subcode,
        message,
    })
}

/// The ShellId of a Create answer (the selector, or `rsp:ShellId`).
pub fn shell_id(doc: &roxmltree::Document<'_>) -> Result<String, ParseError> {
    doc.descendants()
        .find(|n| {
            n.is_element()
                && n.tag_name().name() == "Selector"
                && n.tag_name().namespace() == Some(NS_WSMAN)
                && n.attribute("Name") == Some("ShellId")
        })
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .or_else(|| find_text(doc, NS_SHELL, "ShellId"))
        .filter(|t| !t.is_empty())
        .ok_or(ParseError::Missing("ShellId"))
}

/// The CommandId of a Command answer.
pub fn command_id(doc: &roxmltree::Document<'_>) -> Result<String, ParseError> {
    find_text(doc, NS_SHELL, "CommandId")
        .filter(|t| !t.is_empty())
        .ok_or(ParseError::Missing("CommandId"))
}

/// One Receive answer: stream chunks in order, and the exit code once the
/// command is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// `Some` once `CommandState` is `Done`.
    pub exit_code: Option<i32>,
}

pub fn received(doc: &roxmltree::Document<'_>) -> Result<Received, ParseError> {
    let mut r = Received {
        stdout: Vec::new(),
        stderr: Vec::new(),
        exit_code: None,
    };
    for s in doc.descendants().filter(|n| {
        n.is_element()
            && n.tag_name().name() == "Stream"
            && n.tag_name().namespace() == Some(NS_SHELL)
    }) {
        let text = s.text().unwrap_or("");
        if text.trim().is_empty() {
            continue;
        }
        let bytes = super::encoding::unb64(text).ok_or_else(|| ParseError::Invalid {
            what: "stream chunk (base64)",
            value: text.chars().take(40).collect(),
        })?;
        match s.attribute("Name") {
            Some("stderr") => r.stderr.extend(bytes),
            _ => r.stdout.extend(bytes),
        }
    }
    if let Some(state) = find(doc.root(), NS_SHELL, "CommandState") {
        if state
            .attribute("State")
            .is_some_and(|s| s.ends_with("CommandState/Done"))
        {
            let code = find(state, NS_SHELL, "ExitCode")
                .and_then(|e| e.text())
                .map(str::trim)
                .unwrap_or("0");
            // Windows reports exit codes as unsigned DWORDs (e.g. 4294967295 for -1).
            let exit = code
                .parse::<i64>()
                .ok()
                .and_then(|v| {
                    i32::try_from(v)
                        .ok()
                        .or_else(|| u32::try_from(v).ok().map(|u| u as i32))
                })
                .ok_or_else(|| ParseError::Invalid {
                    what: "ExitCode",
                    value: code.to_string(),
                })?;
            r.exit_code = Some(exit);
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header<'static> {
        // A real message id, as the client makes them; snapshots filter it.
        let id: &'static str = Box::leak(
            format!("uuid:{}", uuid::Uuid::new_v4().to_string().to_uppercase()).into_boxed_str(),
        );
        Header {
            to: "http://ex01.contoso.local:5985/wsman",
            message_id: id,
            operation_timeout: Duration::from_secs(20),
            shell_id: Some("11111111-2222-3333-4444-555555555555"),
        }
    }

    fn pretty(xml: &str) -> String {
        // One element per line keeps snapshot diffs readable.
        xml.replace("><", ">\n<")
    }

    #[test]
    fn envelopes_snapshot() {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(
            r"uuid:[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}",
            "uuid:[UUID]",
        );
        let _guard = settings.bind_to_scope();
        let create = Header {
            shell_id: None,
            ..header()
        };
        insta::assert_snapshot!("create_shell", pretty(&create_shell(&create)));
        insta::assert_snapshot!(
            "command",
            pretty(&command(
                &header(),
                "powershell.exe",
                &[
                    "-NoProfile",
                    "-NonInteractive",
                    "-EncodedCommand",
                    "aABvAHMAdABuAGEAbQBlAA=="
                ]
            ))
        );
        insta::assert_snapshot!("send", pretty(&send(&header(), "CMD-1", "aGk=", true)));
        insta::assert_snapshot!("receive", pretty(&receive(&header(), "CMD-1")));
        insta::assert_snapshot!("signal", pretty(&signal_terminate(&header(), "CMD-1")));
        insta::assert_snapshot!("delete", pretty(&delete_shell(&header())));
    }

    #[test]
    fn values_are_escaped() {
        let x = command(&header(), "type", &["C:\\a&b<c>\"d'.log"]);
        assert!(x.contains("C:\\a&amp;b&lt;c&gt;&quot;d&apos;.log"), "{x}");
        parse(&x).expect("well-formed");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_text(Duration::from_millis(20_500)), "PT20.500S");
        assert_eq!(parse_duration("PT20S"), Some(Duration::from_secs(20)));
        assert_eq!(
            parse_duration("PT1M30.5S"),
            Some(Duration::from_millis(90_500))
        );
        assert_eq!(parse_duration("P1D"), None);
    }

    const RECEIVE_WINDOWS: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action></s:Header><s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C">RVgwMQ0K</rsp:Stream><rsp:Stream Name="stdout" CommandId="C" End="true"></rsp:Stream><rsp:Stream Name="stderr" CommandId="C" End="true"></rsp:Stream><rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>"#;

    const RECEIVE_ENV: &str = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:shell="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><env:Body><shell:ReceiveResponse><shell:Stream Name="stderr" CommandId="C">b29wcw==</shell:Stream><shell:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><shell:ExitCode>4294967295</shell:ExitCode></shell:CommandState></shell:ReceiveResponse></env:Body></env:Envelope>"#;

    #[test]
    fn receive_parses_with_either_prefix_style() {
        let doc = parse(RECEIVE_WINDOWS).unwrap();
        let r = received(&doc).unwrap();
        assert_eq!(
            (r.stdout.as_slice(), r.exit_code),
            (&b"EX01\r\n"[..], Some(0))
        );
        let doc = parse(RECEIVE_ENV).unwrap();
        let r = received(&doc).unwrap();
        assert_eq!((r.stderr.as_slice(), r.exit_code), (&b"oops"[..], Some(-1)));
    }

    #[test]
    fn a_running_command_has_no_exit_code() {
        let xml = RECEIVE_WINDOWS.replace("CommandState/Done", "CommandState/Running");
        assert_eq!(received(&parse(&xml).unwrap()).unwrap().exit_code, None);
    }

    #[test]
    fn timed_out_fault_is_recognised_by_namespace() {
        let xml = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><env:Body><env:Fault><env:Code><env:Value>env:Receiver</env:Value><env:Subcode><env:Value>wsman:TimedOut</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.</env:Text></env:Reason><env:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="ex01"><f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.</f:Message></f:WSManFault></env:Detail></env:Fault></env:Body></env:Envelope>"#;
        let f = fault(&parse(xml).unwrap()).expect("a fault");
        assert!(f.is_timed_out());
        assert_eq!(f.code.as_deref(), Some(CODE_TIMED_OUT));
        assert!(f
            .to_string()
            .starts_with("WS-Management fault 2150858793: The WS-Management"));
    }

    #[test]
    fn shell_id_from_selector_or_body() {
        let a = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body><w:SelectorSet><w:Selector Name="ShellId">S-1</w:Selector></w:SelectorSet></s:Body></s:Envelope>"#;
        assert_eq!(shell_id(&parse(a).unwrap()).unwrap(), "S-1");
        let b = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><rsp:Shell xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><rsp:ShellId>S-2</rsp:ShellId></rsp:Shell></env:Body></env:Envelope>"#;
        assert_eq!(shell_id(&parse(b).unwrap()).unwrap(), "S-2");
        // A look-alike in another namespace is not a ShellId.
        let c = r#"<x:Envelope xmlns:x="urn:other"><x:ShellId>nope</x:ShellId></x:Envelope>"#;
        assert_eq!(
            shell_id(&parse(c).unwrap()),
            Err(ParseError::Missing("ShellId"))
        );
    }
}
