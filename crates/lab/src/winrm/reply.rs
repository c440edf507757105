//! The lab server's answers, written as Windows' WinRM service writes them
//! (prefixes `s:`, `a:`, `w:`, `rsp:`, `x:`): `RelatesTo` the request's
//! MessageID, a fresh MessageID, the anonymous `To`, the response Action.

use wsman::envelope::{xml_escape, ANONYMOUS, RESOURCE_CMD, STATE_DONE, STATE_RUNNING};

fn envelope(action: &str, relates_to: &str, body: &str) -> String {
    format!(
        concat!(
            "<s:Envelope xml:lang=\"en-US\" xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"",
            " xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\"",
            " xmlns:x=\"http://schemas.xmlsoap.org/ws/2004/09/transfer\"",
            " xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"",
            " xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\"",
            " xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\">",
            "<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{id}</a:MessageID>",
            "<a:To>{anon}</a:To><a:RelatesTo>{rel}</a:RelatesTo></s:Header>",
            "<s:Body>{body}</s:Body></s:Envelope>"
        ),
        action = action,
        id = uuid::Uuid::new_v4().to_string().to_uppercase(),
        anon = ANONYMOUS,
        rel = xml_escape(relates_to),
        body = body,
    )
}

pub fn created(
    relates_to: &str,
    address: &str,
    shell_id: &str,
    owner: &str,
    client_ip: &str,
) -> String {
    let id = xml_escape(shell_id);
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
        relates_to,
        &format!(
            "<x:ResourceCreated><a:Address>{addr}</a:Address><a:ReferenceParameters><w:ResourceURI>{RESOURCE_CMD}</w:ResourceURI><w:SelectorSet><w:Selector Name=\"ShellId\">{id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>\
             <rsp:Shell><rsp:ShellId>{id}</rsp:ShellId><rsp:ResourceUri>{RESOURCE_CMD}</rsp:ResourceUri><rsp:Owner>{owner}</rsp:Owner><rsp:ClientIP>{ip}</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>",
            addr = xml_escape(address),
            owner = xml_escape(owner),
            ip = xml_escape(client_ip),
        ),
    )
}

pub fn command(relates_to: &str, command_id: &str) -> String {
    envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse",
        relates_to,
        &format!(
            "<rsp:CommandResponse><rsp:CommandId>{}</rsp:CommandId></rsp:CommandResponse>",
            xml_escape(command_id)
        ),
    )
}

pub fn send(relates_to: &str) -> String {
    envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse",
        relates_to,
        "<rsp:SendResponse/>",
    )
}

pub fn signal(relates_to: &str) -> String {
    envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse",
        relates_to,
        "<rsp:SignalResponse/>",
    )
}

pub fn deleted(relates_to: &str) -> String {
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse",
        relates_to,
        "",
    )
}

/// One Receive answer: base64 chunks of each stream, End markers and
/// `CommandState/Done` with the exit code once everything is delivered.
pub fn received(
    relates_to: &str,
    command_id: &str,
    stdout: &[&[u8]],
    stderr: &[&[u8]],
    done: Option<i32>,
) -> String {
    let cid = xml_escape(command_id);
    let mut body = String::from("<rsp:ReceiveResponse>");
    for (name, chunks) in [("stdout", stdout), ("stderr", stderr)] {
        for c in chunks {
            body.push_str(&format!(
                "<rsp:Stream Name=\"{name}\" CommandId=\"{cid}\">{}</rsp:Stream>",
                wsman::encoding::b64(c)
            ));
        }
    }
    match done {
        Some(code) => {
            body.push_str(&format!(
                "<rsp:Stream Name=\"stdout\" CommandId=\"{cid}\" End=\"true\"></rsp:Stream><rsp:Stream Name=\"stderr\" CommandId=\"{cid}\" End=\"true\"></rsp:Stream>\
                 <rsp:CommandState CommandId=\"{cid}\" State=\"{STATE_DONE}\"><rsp:ExitCode>{}</rsp:ExitCode></rsp:CommandState>",
                // Windows reports the DWORD: -1 is 4294967295.
                code as u32
            ));
        }
        None => body.push_str(&format!(
            "<rsp:CommandState CommandId=\"{cid}\" State=\"{STATE_RUNNING}\"/>"
        )),
    }
    body.push_str("</rsp:ReceiveResponse>");
    envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse",
        relates_to,
        &body,
    )
}

/// A WS-Management fault: SOAP code/subcode, reason, and the WSManFault
/// detail with its numeric code (what clients such as pywinrm read).
pub fn fault(
    relates_to: &str,
    code: &str,
    subcode: &str,
    wsman_code: u32,
    machine: &str,
    message: &str,
) -> String {
    let msg = xml_escape(message);
    envelope(
        wsman::envelope::ACTION_FAULT,
        relates_to,
        &format!(
            "<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>\
             <s:Reason><s:Text xml:lang=\"en-US\">{msg}</s:Text></s:Reason>\
             <s:Detail><f:WSManFault xmlns:f=\"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault\" Code=\"{wsman_code}\" Machine=\"{m}\"><f:Message>{msg}</f:Message></f:WSManFault></s:Detail></s:Fault>",
            m = xml_escape(machine),
        ),
    )
}

/// The Receive long-poll's "nothing yet" answer.
pub fn timed_out(relates_to: &str, machine: &str) -> String {
    fault(
        relates_to,
        "s:Receiver",
        "w:TimedOut",
        2_150_858_793,
        machine,
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ",
    )
}
