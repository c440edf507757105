//! Byte-level encodings WinRM and powershell.exe use: `-EncodedCommand`'s
//! base64 of UTF-16LE, the base64 stream chunks of a Receive, and the
//! CLIXML that powershell.exe writes on stderr when it is started with
//! `-EncodedCommand` and its streams are redirected (as under WinRM). Pure
//! functions only: no I/O, no protocol state.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// `powershell.exe -EncodedCommand` takes the script as base64 of its
/// UTF-16LE bytes (no BOM).
pub fn encode_command(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    STANDARD.encode(bytes)
}

/// The inverse of [`encode_command`]; `None` when the text is not base64 of
/// whole UTF-16LE code units forming valid UTF-16.
pub fn decode_command(encoded: &str) -> Option<String> {
    let bytes = STANDARD.decode(encoded.trim()).ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// Base64 of raw bytes, as WS-Management carries stream chunks.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes one base64 stream chunk; whitespace inside is tolerated (some
/// servers wrap long lines).
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(clean).ok()
}

/// Accumulates one output stream's chunks. Chunks may split a UTF-8
/// sequence anywhere, so bytes are joined first and decoded at the end.
#[derive(Debug, Default, Clone)]
pub struct StreamBuffer {
    bytes: Vec<u8>,
}

impl StreamBuffer {
    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
    }

    /// The stream as text (invalid UTF-8 replaced, never an error: a
    /// console tool's odd byte must not lose the rest of the output).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// The marker powershell.exe prints before serialising its error stream.
pub const CLIXML_MARKER: &str = "#< CLIXML";

/// Turns powershell.exe's CLIXML stderr into the text a console would show:
/// the `<S S="Error">` strings joined, `_x000D__x000A_` and other
/// `_xHHHH_` escapes decoded; progress records dropped. Text that is not
/// CLIXML is returned unchanged.
pub fn clixml_to_text(stderr: &str) -> String {
    let Some(rest) = stderr.trim_start().strip_prefix(CLIXML_MARKER) else {
        return stderr.to_string();
    };
    let mut out = String::new();
    // The stream may hold several <Objs> documents back to back (progress
    // first, errors later); wrapping them gives one parseable document.
    let wrapped = format!("<root>{}</root>", rest.trim());
    match roxmltree::Document::parse(&wrapped) {
        Ok(doc) => {
            for node in doc.descendants().filter(|n| {
                n.tag_name().name() == "S" && n.attribute("S").is_some_and(|s| s == "Error")
            }) {
                out.push_str(&decode_xml_name_escapes(node.text().unwrap_or("")));
            }
        }
        // Half a CLIXML document (a dropped stream) is still worth showing raw.
        Err(_) => return stderr.to_string(),
    }
    out.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Decodes .NET `XmlConvert` escapes `_xHHHH_` (and `_xHHHHHHHH_`).
pub fn decode_xml_name_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("_x") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let decoded = [4usize, 8].iter().find_map(|&n| {
            let hex = after.get(..n)?;
            if after.as_bytes().get(n) != Some(&b'_') || !hex.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return None;
            }
            let code = u32::from_str_radix(hex, 16).ok()?;
            Some((char::from_u32(code)?, n))
        });
        match decoded {
            Some((c, n)) => {
                out.push(c);
                rest = &after[n + 1..];
            }
            None => {
                out.push_str("_x");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Encodes text as CLIXML `<S S="Error">` lines, as powershell.exe does:
/// one element per line, line ends as `_x000D__x000A_`. Used by the lab
/// server to answer like Windows.
pub fn text_to_clixml(stderr: &str) -> String {
    let mut out = String::from(
        "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">",
    );
    for line in stderr.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let mut esc = String::new();
        for c in body.chars() {
            match c {
                '_' => esc.push_str("_x005F_"),
                c if (c as u32) < 0x20 => esc.push_str(&format!("_x{:04X}_", c as u32)),
                c => esc.push(c),
            }
        }
        let ending = if line.ends_with('\n') {
            "_x000D__x000A_"
        } else {
            ""
        };
        out.push_str("<S S=\"Error\">");
        out.push_str(&super::envelope::xml_escape(&format!("{esc}{ending}")));
        out.push_str("</S>");
    }
    out.push_str("</Objs>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encoded_command_matches_powershell() {
        // [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('hostname'))
        assert_eq!(encode_command("hostname"), "aABvAHMAdABuAGEAbQBlAA==");
    }

    #[test]
    fn clixml_error_stream_becomes_text() {
        let raw = "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj S=\"progress\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T></TN></Obj><S S=\"Error\">Get-Foo : The term 'Get-Foo' is not recognized_x000D__x000A_</S><S S=\"Error\">    + FullyQualifiedErrorId : CommandNotFoundException_x000D__x000A_</S></Objs>";
        assert_eq!(
            clixml_to_text(raw),
            "Get-Foo : The term 'Get-Foo' is not recognized\r\n    + FullyQualifiedErrorId : CommandNotFoundException\r\n"
        );
    }

    #[test]
    fn plain_stderr_is_left_alone() {
        assert_eq!(
            clixml_to_text("Access is denied.\r\n"),
            "Access is denied.\r\n"
        );
    }

    #[test]
    fn escapes_that_are_not_escapes_stay() {
        assert_eq!(decode_xml_name_escapes("a_xZZ_b_x0041_"), "a_xZZ_bA");
    }

    proptest! {
        #[test]
        fn encoded_command_round_trips(s in "\\PC*") {
            prop_assert_eq!(decode_command(&encode_command(&s)), Some(s));
        }

        #[test]
        fn clixml_round_trips(lines in proptest::collection::vec("[^\r\n]{0,40}", 0..5)) {
            let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            prop_assert_eq!(clixml_to_text(&text_to_clixml(&text)), text);
        }

        #[test]
        fn stream_chunks_join_at_any_split(s in "\\PC{0,64}", cuts in proptest::collection::vec(0usize..256, 0..6)) {
            let bytes = s.as_bytes();
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            points.push(0);
            points.push(bytes.len());
            points.sort_unstable();
            let mut buf = StreamBuffer::default();
            for w in points.windows(2) {
                let chunk = b64(&bytes[w[0]..w[1]]);
                buf.push(&unb64(&chunk).expect("our own base64 decodes"));
            }
            prop_assert_eq!(buf.text(), s);
        }
    }
}
