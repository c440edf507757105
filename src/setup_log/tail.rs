//! Reading only the last run of a setup log file. `ExchangeSetup.log`
//! gains every run of setup and is routinely tens of MB (review
//! real-exchange.md finding 17), while the run that counts is at its end:
//! the file is read backwards in growing chunks until the last run start
//! line is whole in memory, and nothing before that line is kept.
//!
//! Every captured log is ASCII. A file that is not valid UTF-8 is read as
//! Latin-1 (UNVERIFIED: which code page setup writes on a non-English
//! Windows); the markers this module and `parse.rs` look for are ASCII
//! either way.

use std::io::{self, Read, Seek, SeekFrom};

use super::parse::{is_run_start, rfind_mark, MARK};

/// The first chunk read from the end; each further chunk doubles, up to
/// [`MAX_CHUNK`], so a file with no run in it is still read in O(size).
const FIRST_CHUNK: u64 = 1 << 20;
const MAX_CHUNK: u64 = 64 << 20;

/// The text from the last run's start line to the end of the file, or
/// `None` when the file has no run start line at all. Also returns how many
/// bytes were read.
pub fn last_run_text<R: Read + Seek>(reader: &mut R) -> io::Result<(Option<String>, u64)> {
    let len = reader.seek(SeekFrom::End(0))?;
    let mut start = len; // file offset of buf[0]
    let mut buf: Vec<u8> = Vec::new();
    // Candidate positions at or past `limit` have been looked at already.
    let mut limit = 0usize;
    let mut chunk = FIRST_CHUNK;
    loop {
        let n = chunk.min(start);
        start -= n;
        let mut block = vec![0u8; usize::try_from(n).expect("a chunk fits in memory")];
        reader.seek(SeekFrom::Start(start))?;
        reader.read_exact(&mut block)?;
        block.extend_from_slice(&buf);
        buf = block;
        limit += usize::try_from(n).expect("a chunk fits in memory");
        match find_run_start(&buf, &mut limit, start == 0) {
            Found::At(line_start) => return Ok((Some(decode(&buf[line_start..])), len - start)),
            Found::NeedMore | Found::None if start == 0 => return Ok((None, len)),
            Found::NeedMore | Found::None => {}
        }
        chunk = (chunk * 2).min(MAX_CHUNK);
    }
}

enum Found {
    /// The run start line begins at this offset of the buffer.
    At(usize),
    /// A candidate's line starts before the buffer.
    NeedMore,
    None,
}

/// Looks at candidate positions below `limit`, last first; lowers `limit`
/// past every candidate rejected.
fn find_run_start(buf: &[u8], limit: &mut usize, at_file_start: bool) -> Found {
    let mark = MARK.as_bytes();
    loop {
        let end = (*limit + mark.len() - 1).min(buf.len());
        let Some(at) = rfind_mark(&buf[..end]) else {
            *limit = 0;
            return Found::None;
        };
        let line_start = match buf[..at].iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if at_file_start => 0,
            None => {
                *limit = at + 1;
                return Found::NeedMore;
            }
        };
        let line_end = buf[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| at + i);
        if is_run_start(&decode(&buf[line_start..line_end])) {
            return Found::At(line_start);
        }
        *limit = at;
    }
}

/// UTF-8 when valid, else Latin-1.
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    const RUN: &str = "[02/10/2026 09:01:12.0451] [0] **********************************************\r\n[02/10/2026 09:01:12.0451] [0] Starting Microsoft Exchange Server 2019 Setup\r\n[02/10/2026 09:01:12.0482] [0] Setup version: 15.2.1748.10.\r\n";

    fn tail(text: &[u8]) -> Option<String> {
        last_run_text(&mut Cursor::new(text.to_vec())).unwrap().0
    }

    #[test]
    fn only_the_last_run_is_kept() {
        let text = format!("{RUN}[02/10/2026 09:02:00.0000] [0] End of Setup\r\n{RUN}");
        let got = tail(text.as_bytes()).unwrap();
        assert_eq!(
            got,
            RUN[RUN.find("[02/10/2026 09:01:12.0451] [0] Starting").unwrap()..]
        );
    }

    #[test]
    fn a_file_without_a_run_has_none() {
        assert_eq!(tail(b""), None);
        assert_eq!(tail(b"hello\nworld\n"), None);
        // The words alone, not as a run start line, do not count.
        assert_eq!(
            tail(b"[02/10/2026 09:01:12.0451] [0] Not Starting Microsoft Exchange Server 2019 Setup\n"),
            None
        );
    }

    /// The run start line straddles chunk boundaries and the run sits
    /// behind more than one chunk of other lines: the reader must go back
    /// far enough and keep the whole line.
    #[test]
    fn a_run_far_from_the_end_is_found_whole() {
        let filler = "[02/10/2026 09:01:13.0000] [1] x\n".repeat(80_000);
        let text = format!("garbage\n{RUN}{filler}");
        assert!(text.len() as u64 > 2 * FIRST_CHUNK);
        let (got, read) = last_run_text(&mut Cursor::new(text.clone().into_bytes())).unwrap();
        let got = got.unwrap();
        assert!(got.starts_with("[02/10/2026 09:01:12.0451] [0] Starting Microsoft"));
        assert_eq!(
            got.len(),
            text.len()
                - "garbage\n".len()
                - RUN.find("[02/10/2026 09:01:12.0451] [0] Starting").unwrap()
        );
        assert!(read <= text.len() as u64);
    }

    #[test]
    fn a_run_at_the_very_start_of_the_file_is_found() {
        let run = &RUN[RUN.find("[02/10/2026 09:01:12.0451] [0] Starting").unwrap()..];
        assert_eq!(tail(run.as_bytes()).unwrap(), run);
    }

    #[test]
    fn latin1_text_is_read() {
        let mut bytes = RUN.as_bytes().to_vec();
        bytes.extend_from_slice(
            b"[02/10/2026 09:01:12.0483] [0] Logged on user: CONTOSO\\J\xfcrgen.\r\n",
        );
        assert!(tail(&bytes).unwrap().contains("CONTOSO\\Jürgen."));
    }
}
