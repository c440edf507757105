//! A deliberately small HTTP/1.1 codec for WS-Management: one `POST` at a
//! time on a kept-alive connection. cu-roll owns the connection (rather than
//! a pooling HTTP client) because NTLM authenticates the TCP connection, not
//! the request: the handshake and every sealed message must travel on the
//! same socket, as Windows' HTTP.sys requires. Used by the client and by
//! the lab's WinRM server; knows nothing about SOAP.

use std::io::{self, BufRead, BufReader, Read, Write};

/// Largest header block or body accepted (WinRM envelopes are ≤ 500 KiB).
const MAX_HEADER: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A byte stream, plain TCP or TLS.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One request or response head plus its body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// `POST /wsman HTTP/1.1` or `HTTP/1.1 200 OK`, split.
    pub start: [String; 3],
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of a header that may repeat (`WWW-Authenticate`).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The status code of a response (0 when the line is not one).
    pub fn status(&self) -> u16 {
        self.start[1].parse().unwrap_or(0)
    }

    /// Whether the peer asked to close after this message.
    pub fn wants_close(&self) -> bool {
        let close = self
            .header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        close || self.start.iter().any(|p| p == "HTTP/1.0") && self.header("Connection").is_none()
    }
}

/// Writes a request or response with a Content-Length body.
pub fn write_message(
    out: &mut dyn Write,
    start: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("{start}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut buf = head.into_bytes();
    buf.extend_from_slice(body);
    out.write_all(&buf)?;
    out.flush()
}

/// Reads one message. `Ok(None)` when the peer closed cleanly before a
/// new message began (an idle keep-alive connection ending).
pub fn read_message<R: Read>(
    reader: &mut BufReader<R>,
    is_response: bool,
) -> io::Result<Option<Message>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader
            .by_ref()
            .take(MAX_HEADER as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            if head.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside an HTTP header",
            ));
        }
        if head.is_empty() && (line == b"\r\n" || line == b"\n") {
            continue; // tolerated blank line between messages
        }
        let end = line == b"\r\n" || line == b"\n";
        head.extend_from_slice(&line);
        if head.len() > MAX_HEADER {
            return Err(bad("HTTP header too large"));
        }
        if end {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let mut parts = first.splitn(3, ' ');
    let start = [
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").trim_end().to_string(),
    ];
    if start[1].is_empty() {
        return Err(bad("malformed HTTP start line"));
    }
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut msg = Message {
        start,
        headers,
        body: Vec::new(),
    };
    let chunked = msg
        .header("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        msg.body = read_chunked(reader)?;
    } else if let Some(len) = msg.header("Content-Length") {
        let len: usize = len.trim().parse().map_err(|_| bad("bad Content-Length"))?;
        if len > MAX_BODY {
            return Err(bad("HTTP body too large"));
        }
        msg.body = vec![0; len];
        reader.read_exact(&mut msg.body)?;
    } else if is_response && msg.status() != 204 && msg.status() != 304 && msg.wants_close() {
        reader
            .by_ref()
            .take(MAX_BODY as u64)
            .read_to_end(&mut msg.body)?;
    }
    Ok(Some(msg))
}

fn read_chunked<R: Read>(reader: &mut BufReader<R>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, then the blank line.
            loop {
                let mut t = String::new();
                if reader.read_line(&mut t)? == 0 || t.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(bad("HTTP body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips() {
        let mut wire = Vec::new();
        write_message(
            &mut wire,
            "POST /wsman HTTP/1.1",
            &[("Host", "h:1".into())],
            b"<x/>",
        )
        .unwrap();
        let mut r = BufReader::new(wire.as_slice());
        let m = read_message(&mut r, false).unwrap().unwrap();
        assert_eq!(
            (m.start[0].as_str(), m.start[1].as_str()),
            ("POST", "/wsman")
        );
        assert_eq!(
            (m.header("host"), m.body.as_slice()),
            (Some("h:1"), &b"<x/>"[..])
        );
        assert!(read_message(&mut r, false).unwrap().is_none());
    }

    #[test]
    fn chunked_response() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let m = read_message(&mut BufReader::new(&wire[..]), true)
            .unwrap()
            .unwrap();
        assert_eq!((m.status(), m.body.as_slice()), (200, &b"abcde"[..]));
    }

    #[test]
    fn close_delimited_response() {
        let wire = b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nbody";
        let m = read_message(&mut BufReader::new(&wire[..]), true)
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.status(), m.start[2].as_str(), m.body.as_slice()),
            (500, "Oops", &b"body"[..])
        );
    }

    #[test]
    fn eof_inside_header_is_an_error() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-";
        assert!(read_message(&mut BufReader::new(&wire[..]), true).is_err());
    }
}
