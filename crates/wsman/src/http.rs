//! A deliberately small HTTP/1.1 codec for WS-Management: one `POST` at a
//! time on a kept-alive connection. cu-roll owns the connection (rather than
//! a pooling HTTP client) because NTLM authenticates the TCP connection, not
//! the request: the handshake and every sealed message must travel on the
//! same socket, as Windows' HTTP.sys requires. The lab's WinRM server
//! reads and writes with it; cu-roll's client speaks HTTP through hyper
//! on the same terms (one connection it owns, src/exec/winrm/conn.rs) and
//! shares `Message` and the limits from here. Knows nothing about SOAP.

use std::io::{self, BufRead, Read, Write};
use std::time::Instant;

/// Largest header block (or trailer block) accepted, each line included.
pub const MAX_HEADER: usize = 64 * 1024;
/// Largest body accepted (WinRM envelopes are ≤ 500 KiB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

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
///
/// Every read is bounded, whatever the peer sends: the header block
/// (and each of its lines) to [`MAX_HEADER`], a chunk-size line to
/// [`MAX_CHUNK_LINE`], the body to [`MAX_BODY`] (chunk sizes are added
/// with overflow checks). A peer that breaks a bound gets an
/// `InvalidData` error, never a panic or an unbounded allocation.
pub fn read_message<B: BufRead>(reader: &mut B, is_response: bool) -> io::Result<Option<Message>> {
    let Some(head) = read_head(reader)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let mut parts = first.splitn(3, ' ');
    let start = [
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").trim_end().to_string(),
    ];
    check_start_line(&start, first, is_response)?;
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
        // Read what arrives rather than allocating the announced length up
        // front: a peer that announces 16 MiB and sends nothing costs nothing.
        reader
            .by_ref()
            .take(len as u64)
            .read_to_end(&mut msg.body)?;
        if msg.body.len() != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside an HTTP body",
            ));
        }
    } else if is_response && msg.status() != 204 && msg.status() != 304 && msg.wants_close() {
        reader
            .by_ref()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut msg.body)?;
        if msg.body.len() > MAX_BODY {
            return Err(bad("HTTP body too large"));
        }
    }
    Ok(Some(msg))
}

/// A response starts `HTTP/1.x NNN reason`, a request `METHOD target
/// HTTP/1.x`. Anything else is not HTTP: the error quotes the start of it
/// (escaped, at most 40 characters) so the admin sees what the peer sent.
fn check_start_line(start: &[String; 3], line: &str, is_response: bool) -> io::Result<()> {
    let ok = if is_response {
        start[0].starts_with("HTTP/")
            && start[1].len() == 3
            && start[1].bytes().all(|b| b.is_ascii_digit())
    } else {
        !start[1].is_empty() && start[2].starts_with("HTTP/")
    };
    if ok {
        return Ok(());
    }
    let shown: String = line.trim_end().chars().take(40).collect();
    let what = if is_response {
        "not an HTTP response"
    } else {
        "not an HTTP request"
    };
    Err(bad(&format!("{what}: it starts {:?}", shown)))
}

/// [`read_message`] that must complete before `deadline`: a peer that
/// drips bytes slowly (each read arriving within the socket's own read
/// timeout) cannot hold the reader for ever. Past the deadline the read
/// fails with `TimedOut`. A single blocked read is still bounded only by
/// the socket's read timeout, so set one too.
pub fn read_message_before<B: BufRead>(
    reader: &mut B,
    is_response: bool,
    deadline: Instant,
) -> io::Result<Option<Message>> {
    read_message(
        &mut Before {
            inner: reader,
            deadline,
        },
        is_response,
    )
}

struct Before<'a, B> {
    inner: &'a mut B,
    deadline: Instant,
}

impl<B: BufRead> Before<'_, B> {
    fn check(&self) -> io::Result<()> {
        if Instant::now() >= self.deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the HTTP message did not arrive whole in time",
            ));
        }
        Ok(())
    }
}

impl<B: BufRead> Read for Before<'_, B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<B: BufRead> BufRead for Before<'_, B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.check()?;
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

/// The header block up to and including its blank line; `None` on a clean
/// close before the first byte.
fn read_head<B: BufRead>(reader: &mut B) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let Some(line) = read_line(reader, MAX_HEADER - head.len(), "HTTP header too large")?
        else {
            if head.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside an HTTP header",
            ));
        };
        let end = line == b"\r\n" || line == b"\n";
        if head.is_empty() && end {
            continue; // tolerated blank line between messages
        }
        head.extend_from_slice(&line);
        if end {
            return Ok(Some(head));
        }
    }
}

/// One line of at most `max` bytes, its `\n` included. `None` at a clean
/// end of stream; an error when the line would exceed `max` or the stream
/// ends inside it.
fn read_line<B: BufRead>(
    reader: &mut B,
    max: usize,
    too_long: &str,
) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(max as u64)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return if max == 0 {
            Err(bad(too_long))
        } else {
            Ok(None)
        };
    }
    if line.last() != Some(&b'\n') {
        return Err(if n >= max {
            bad(too_long)
        } else {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a line",
            )
        });
    }
    Ok(Some(line))
}

/// Largest chunk-size line (the hex size plus chunk extensions).
pub const MAX_CHUNK_LINE: usize = 1024;

fn read_chunked<B: BufRead>(reader: &mut B) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader, MAX_CHUNK_LINE, "HTTP chunk-size line too long")?
            .ok_or_else(|| bad("connection closed before a chunk size"))?;
        let size = chunk_size(&line)?;
        if size == 0 {
            read_trailers(reader)?;
            return Ok(body);
        }
        let total = body
            .len()
            .checked_add(size)
            .filter(|&t| t <= MAX_BODY)
            .ok_or_else(|| bad("HTTP body too large"))?;
        let start = body.len();
        reader
            .by_ref()
            .take((total - start) as u64)
            .read_to_end(&mut body)?;
        if body.len() != total {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside an HTTP chunk",
            ));
        }
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(bad("HTTP chunk not followed by CRLF"));
        }
    }
}

/// The size of a chunk-size line: hex digits, then optional `;extensions`.
/// Sizes above [`MAX_BODY`] are refused here, so no sum can overflow.
fn chunk_size(line: &[u8]) -> io::Result<usize> {
    let text = std::str::from_utf8(line).map_err(|_| bad("bad chunk size"))?;
    let digits = text.trim().split(';').next().unwrap_or("").trim();
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("bad chunk size"));
    }
    let size = usize::from_str_radix(digits, 16).map_err(|_| bad("bad chunk size"))?;
    if size > MAX_BODY {
        return Err(bad("HTTP body too large"));
    }
    Ok(size)
}

/// Trailer lines after the last chunk, up to the blank line, bounded
/// together like a header block.
fn read_trailers<B: BufRead>(reader: &mut B) -> io::Result<()> {
    let mut total = 0usize;
    loop {
        let Some(line) = read_line(reader, MAX_HEADER - total, "HTTP trailer too large")? else {
            return Ok(()); // closed after the last chunk: the body is whole
        };
        if line == b"\r\n" || line == b"\n" {
            return Ok(());
        }
        total += line.len();
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;
    use std::time::Duration;

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

    fn read(wire: &[u8]) -> io::Result<Option<Message>> {
        read_message(&mut BufReader::new(wire), true)
    }

    fn error_text(wire: &[u8]) -> String {
        read(wire).expect_err("refused").to_string()
    }

    #[test]
    fn overflowing_chunk_size_is_refused_not_a_panic() {
        // The review's crash: a 1-byte chunk, then a size that wraps usize.
        let wire =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\nffffffffffffffff\r\n";
        assert_eq!(error_text(wire), "bad chunk size");
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000001\r\n";
        assert_eq!(error_text(wire), "HTTP body too large");
    }

    #[test]
    fn chunks_adding_up_past_the_body_limit_are_refused() {
        let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let chunk = vec![b'x'; MAX_BODY / 2];
        for _ in 0..2 {
            wire.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
            wire.extend(&chunk);
            wire.extend(b"\r\n");
        }
        wire.extend(b"1\r\n");
        assert_eq!(error_text(&wire), "HTTP body too large");
    }

    #[test]
    fn long_lines_are_refused_at_their_bound() {
        let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        wire.extend(vec![b'0'; MAX_CHUNK_LINE + 10]);
        assert_eq!(error_text(&wire), "HTTP chunk-size line too long");

        let mut wire = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        wire.extend(vec![b'a'; MAX_HEADER]);
        assert_eq!(error_text(&wire), "HTTP header too large");

        // Many short header lines add up to the same bound.
        let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..MAX_HEADER / 8 {
            wire.extend(b"X: 123\r\n");
        }
        assert_eq!(error_text(&wire), "HTTP header too large");

        let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
        for _ in 0..MAX_HEADER / 8 {
            wire.extend(b"X: 123\r\n");
        }
        assert_eq!(error_text(&wire), "HTTP trailer too large");
    }

    #[test]
    fn truncated_bodies_are_errors() {
        assert!(read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").is_err());
        assert!(read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").is_err());
        assert_eq!(
            error_text(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY0\r\n\r\n"),
            "HTTP chunk not followed by CRLF"
        );
        // A huge announced length is refused before any allocation.
        assert_eq!(
            error_text(b"HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n"),
            "HTTP body too large"
        );
        assert_eq!(
            error_text(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            "bad Content-Length"
        );
    }

    #[test]
    fn chunk_extensions_and_trailers_are_read() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;name=v\r\nabc\r\n0\r\nX-T: 1\r\n\r\n";
        assert_eq!(read(wire).unwrap().unwrap().body, b"abc");
    }

    #[test]
    fn a_start_line_that_is_not_http_is_named() {
        let err = read_message(&mut &b"\x00\xff not http at all\r\n\r\n"[..], true).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not an HTTP response: it starts \""),
            "{err}"
        );
        let err = read_message(&mut &b"HTTP/1.1 2000 OK\r\n\r\n"[..], true).unwrap_err();
        assert!(err.to_string().contains("not an HTTP response"), "{err}");
        let err = read_message(&mut &b"hello there\r\n\r\n"[..], false).unwrap_err();
        assert!(err.to_string().contains("not an HTTP request"), "{err}");
    }

    /// One byte per read, each well within any socket read timeout.
    struct Drip(Duration);

    impl Read for Drip {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(self.0);
            buf[0] = b'a';
            Ok(1)
        }
    }

    #[test]
    fn a_dripping_peer_is_cut_off_at_the_deadline() {
        let mut r = BufReader::new(Drip(Duration::from_millis(5)));
        let started = Instant::now();
        let deadline = started + Duration::from_millis(150);
        let err = read_message_before(&mut r, true, deadline).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
        // Within the deadline a whole message still reads.
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let far = Instant::now() + Duration::from_secs(60);
        let m = read_message_before(&mut &wire[..], true, far)
            .unwrap()
            .unwrap();
        assert_eq!(m.body, b"hi");
    }
}
