//! NTLMv2 (MS-NLMP) for WinRM: the initiator (client) and acceptor (the
//! lab server) handshake, and the session security WinRM uses over HTTP —
//! RC4 sealing with HMAC-MD5 signatures, key exchange and extended session
//! security (MS-NLMP 3.4), framed as MS-WSMV 2.2.9.1.1's
//! `multipart/encrypted` bodies. No I/O: `auth` carries the tokens.

use hmac::{Hmac, Mac};
use md4::Md4;
use md5::{Digest, Md5};

pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const REQUEST_TARGET: u32 = 0x0000_0004;
pub const NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub const NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub const NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
pub const EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub const NEGOTIATE_VERSION: u32 = 0x0200_0000;
pub const NEGOTIATE_128: u32 = 0x2000_0000;
pub const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
pub const NEGOTIATE_56: u32 = 0x8000_0000;

/// What cu-roll asks for and the lab grants: sealing needs all of these.
pub const FLAGS: u32 = NEGOTIATE_UNICODE
    | REQUEST_TARGET
    | NEGOTIATE_SIGN
    | NEGOTIATE_SEAL
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | EXTENDED_SESSIONSECURITY
    | NEGOTIATE_TARGET_INFO
    | NEGOTIATE_VERSION
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_56;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// Windows 10 / Server 2016+ version block, NTLM revision 15.
const VERSION: [u8; 8] = [10, 0, 0x61, 0x4a, 0, 0, 0, 15];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtlmError {
    #[error("malformed NTLM {0} message")]
    Malformed(&'static str),
    #[error("the server did not grant NTLM message sealing (flags {0:#010x})")]
    NoSealing(u32),
    #[error("NTLM authentication failed")]
    BadCredentials,
    #[error("an NTLM-sealed message failed its signature check")]
    BadSignature,
}

type HmacMd5 = Hmac<Md5>;

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut m = <HmacMd5 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn from_utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// NTOWFv2: HMAC-MD5 keyed with MD4(password) over UPPER(user) + domain.
pub fn ntowf_v2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let nt: [u8; 16] = Md4::digest(utf16(password)).into();
    hmac_md5(&nt, &[&utf16(&format!("{}{domain}", user.to_uppercase()))])
}

/// RC4, the NTLM sealing cipher (MS-NLMP 3.4.3); the state runs on across
/// messages. NTLM's RC4 keys (the exported session key, the sealing keys)
/// are always 16 bytes.
pub struct Rc4(rc4::Rc4<rc4::consts::U16>);

impl Rc4 {
    /// # Panics
    /// When `key` is not 16 bytes long: every NTLM RC4 key is.
    pub fn new(key: &[u8]) -> Rc4 {
        use rc4::KeyInit;
        Rc4(rc4::Rc4::new(rc4::Key::<rc4::consts::U16>::from_slice(key)))
    }

    pub fn apply(&mut self, data: &mut [u8]) {
        use rc4::StreamCipher;
        self.0.apply_keystream(data);
    }
}

fn field(msg: &[u8], at: usize) -> Option<&[u8]> {
    let len = u16::from_le_bytes(msg.get(at..at + 2)?.try_into().ok()?) as usize;
    let off = u32::from_le_bytes(msg.get(at + 4..at + 8)?.try_into().ok()?) as usize;
    if len == 0 {
        return Some(&[]);
    }
    msg.get(off..off.checked_add(len)?)
}

fn u32_at(msg: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(msg.get(at..at + 4)?.try_into().ok()?))
}

fn check_type(msg: &[u8], t: u32, name: &'static str) -> Result<(), NtlmError> {
    if msg.len() < 12 || &msg[..8] != SIGNATURE || u32_at(msg, 8) != Some(t) {
        return Err(NtlmError::Malformed(name));
    }
    Ok(())
}

/// Lays out a message: fixed header with (len, len, offset) fields
/// pointing at the payloads that follow it.
fn build(header: &[u8], header_len: usize, fields: &[(usize, &[u8])]) -> Vec<u8> {
    let mut msg = header.to_vec();
    msg.resize(header_len, 0);
    for (at, data) in fields {
        let off = msg.len() as u32;
        let len = data.len() as u16;
        msg[*at..at + 2].copy_from_slice(&len.to_le_bytes());
        msg[at + 2..at + 4].copy_from_slice(&len.to_le_bytes());
        msg[at + 4..at + 8].copy_from_slice(&off.to_le_bytes());
        msg.extend_from_slice(data);
    }
    msg
}

/// NEGOTIATE_MESSAGE.
pub fn negotiate() -> Vec<u8> {
    let mut h = SIGNATURE.to_vec();
    h.extend(1u32.to_le_bytes());
    h.extend(FLAGS.to_le_bytes());
    h.extend([0u8; 16]);
    h.extend(VERSION);
    h
}

/// Windows FILETIME now (100 ns since 1601).
pub fn filetime_now() -> u64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() / 100);
    u64::try_from(unix).unwrap_or(0) + 116_444_736_000_000_000
}

/// Session security for one direction pair, after the handshake.
pub struct Session {
    send_sign: [u8; 16],
    send_seal: Rc4,
    send_seq: u32,
    recv_sign: [u8; 16],
    recv_seal: Rc4,
    recv_seq: u32,
}

impl Session {
    fn new(exported: &[u8; 16], client: bool) -> Session {
        let key = |what: &str| md5(&[exported, what.as_bytes()]);
        let c_sign = key("session key to client-to-server signing key magic constant\0");
        let c_seal = key("session key to client-to-server sealing key magic constant\0");
        let s_sign = key("session key to server-to-client signing key magic constant\0");
        let s_seal = key("session key to server-to-client sealing key magic constant\0");
        let (ss, sl, rs, rl) = if client {
            (c_sign, c_seal, s_sign, s_seal)
        } else {
            (s_sign, s_seal, c_sign, c_seal)
        };
        Session {
            send_sign: ss,
            send_seal: Rc4::new(&sl),
            send_seq: 0,
            recv_sign: rs,
            recv_seal: Rc4::new(&rl),
            recv_seq: 0,
        }
    }

    /// Seals `data`: (sealed bytes, 16-byte signature).
    pub fn seal(&mut self, data: &[u8]) -> (Vec<u8>, [u8; 16]) {
        let seq = self.send_seq.to_le_bytes();
        self.send_seq = self.send_seq.wrapping_add(1);
        let mut sealed = data.to_vec();
        self.send_seal.apply(&mut sealed);
        let mut checksum: [u8; 8] = hmac_md5(&self.send_sign, &[&seq, data])[..8]
            .try_into()
            .expect("8 bytes");
        self.send_seal.apply(&mut checksum);
        let mut sig = [0u8; 16];
        sig[..4].copy_from_slice(&1u32.to_le_bytes());
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&seq);
        (sealed, sig)
    }

    /// Unseals and verifies a message from the peer.
    pub fn unseal(&mut self, sealed: &[u8], sig: &[u8]) -> Result<Vec<u8>, NtlmError> {
        let seq = self.recv_seq.to_le_bytes();
        self.recv_seq = self.recv_seq.wrapping_add(1);
        let mut data = sealed.to_vec();
        self.recv_seal.apply(&mut data);
        let mut checksum: [u8; 8] = hmac_md5(&self.recv_sign, &[&seq, &data])[..8]
            .try_into()
            .expect("8 bytes");
        self.recv_seal.apply(&mut checksum);
        if sig.len() != 16 || sig[4..12] != checksum || sig[12..] != seq {
            return Err(NtlmError::BadSignature);
        }
        Ok(data)
    }
}

/// The client's answer to a CHALLENGE: the AUTHENTICATE message and the
/// established session.
pub fn authenticate(
    challenge: &[u8],
    user: &str,
    password: &str,
    workstation: &str,
) -> Result<(Vec<u8>, Session), NtlmError> {
    check_type(challenge, 2, "CHALLENGE")?;
    let flags = u32_at(challenge, 20).ok_or(NtlmError::Malformed("CHALLENGE"))?;
    if flags & (NEGOTIATE_SEAL | NEGOTIATE_KEY_EXCH | EXTENDED_SESSIONSECURITY)
        != (NEGOTIATE_SEAL | NEGOTIATE_KEY_EXCH | EXTENDED_SESSIONSECURITY)
    {
        return Err(NtlmError::NoSealing(flags));
    }
    let server_challenge: [u8; 8] = challenge
        .get(24..32)
        .and_then(|s| s.try_into().ok())
        .ok_or(NtlmError::Malformed("CHALLENGE"))?;
    let target_info = field(challenge, 40).ok_or(NtlmError::Malformed("CHALLENGE"))?;
    let (domain, account) = split_user(user);
    let key = ntowf_v2(password, &account, &domain);
    let client_challenge: [u8; 8] = *uuid::Uuid::new_v4()
        .as_bytes()
        .first_chunk()
        .expect("16 bytes");
    let mut blob = vec![1u8, 1, 0, 0, 0, 0, 0, 0];
    blob.extend(filetime_now().to_le_bytes());
    blob.extend(client_challenge);
    blob.extend([0u8; 4]);
    blob.extend(target_info);
    blob.extend([0u8; 4]);
    let proof = hmac_md5(&key, &[&server_challenge, &blob]);
    let mut nt_response = proof.to_vec();
    nt_response.extend(&blob);
    let session_base = hmac_md5(&key, &[&proof]);
    let exported: [u8; 16] = *uuid::Uuid::new_v4().as_bytes();
    let mut encrypted_key = exported;
    Rc4::new(&session_base).apply(&mut encrypted_key);
    let mut h = SIGNATURE.to_vec();
    h.extend(3u32.to_le_bytes());
    h.resize(60, 0);
    h.extend((flags & FLAGS).to_le_bytes());
    h.extend(VERSION);
    let lm = [0u8; 24];
    let msg = build(
        &h,
        72,
        &[
            (12, &lm[..]),
            (20, &nt_response),
            (28, &utf16(&domain)),
            (36, &utf16(&account)),
            (44, &utf16(workstation)),
            (52, &encrypted_key),
        ],
    );
    Ok((msg, Session::new(&exported, true)))
}

/// `DOMAIN\user` or `user@domain` into (domain, user).
pub fn split_user(user: &str) -> (String, String) {
    if let Some((d, u)) = user.split_once('\\') {
        (d.to_string(), u.to_string())
    } else if let Some((u, d)) = user.split_once('@') {
        (d.to_string(), u.to_string())
    } else {
        (String::new(), user.to_string())
    }
}

/// The acceptor side (the lab): remembers the CHALLENGE it sent.
pub struct Acceptor {
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    server_challenge: [u8; 8],
}

impl Acceptor {
    /// Answers a NEGOTIATE with a CHALLENGE naming the lab server.
    pub fn challenge(
        negotiate: &[u8],
        computer: &str,
        fqdn: &str,
        nb_domain: &str,
        dns_domain: &str,
    ) -> Result<Acceptor, NtlmError> {
        check_type(negotiate, 1, "NEGOTIATE")?;
        let asked = u32_at(negotiate, 12).ok_or(NtlmError::Malformed("NEGOTIATE"))?;
        let flags = (asked & FLAGS)
            | NEGOTIATE_TARGET_INFO
            | TARGET_TYPE_DOMAIN
            | NEGOTIATE_UNICODE
            | NEGOTIATE_NTLM;
        let server_challenge: [u8; 8] = *uuid::Uuid::new_v4()
            .as_bytes()
            .first_chunk()
            .expect("16 bytes");
        let mut info = Vec::new();
        let mut av = |id: u16, value: &[u8]| {
            info.extend(id.to_le_bytes());
            info.extend((value.len() as u16).to_le_bytes());
            info.extend(value);
        };
        av(2, &utf16(nb_domain));
        av(1, &utf16(computer));
        av(4, &utf16(dns_domain));
        av(3, &utf16(fqdn));
        av(7, &filetime_now().to_le_bytes());
        av(0, &[]);
        let mut h = SIGNATURE.to_vec();
        h.extend(2u32.to_le_bytes());
        h.resize(20, 0);
        h.extend(flags.to_le_bytes());
        h.extend(server_challenge);
        h.extend([0u8; 8]);
        h.resize(48, 0);
        h.extend(VERSION);
        let challenge = build(&h, 56, &[(12, &utf16(nb_domain)), (40, &info)]);
        Ok(Acceptor {
            negotiate: negotiate.to_vec(),
            challenge,
            server_challenge,
        })
    }

    pub fn challenge_message(&self) -> &[u8] {
        &self.challenge
    }

    /// Checks an AUTHENTICATE against the one account the lab knows
    /// (`DOMAIN\user`, domain and user case-insensitive). Returns the user
    /// as written and the established session.
    pub fn accept(
        &self,
        auth: &[u8],
        expected_user: &str,
        password: &str,
    ) -> Result<(String, Session), NtlmError> {
        check_type(auth, 3, "AUTHENTICATE")?;
        let bad = || NtlmError::Malformed("AUTHENTICATE");
        let nt = field(auth, 20).ok_or_else(bad)?;
        let domain = from_utf16(field(auth, 28).ok_or_else(bad)?);
        let user = from_utf16(field(auth, 36).ok_or_else(bad)?);
        let enc_key = field(auth, 52).ok_or_else(bad)?;
        let flags = u32_at(auth, 60).ok_or_else(bad)?;
        let (want_domain, want_user) = split_user(expected_user);
        if !user.eq_ignore_ascii_case(&want_user)
            || !(domain.is_empty() || domain.eq_ignore_ascii_case(&want_domain))
        {
            return Err(NtlmError::BadCredentials);
        }
        if nt.len() < 48 {
            return Err(NtlmError::BadCredentials);
        }
        // The client keyed its proof with the domain it sent.
        let key = ntowf_v2(password, &user, &domain);
        let (proof, blob) = nt.split_at(16);
        if hmac_md5(&key, &[&self.server_challenge, blob]) != proof {
            return Err(NtlmError::BadCredentials);
        }
        let session_base = hmac_md5(&key, &[proof]);
        if flags & NEGOTIATE_KEY_EXCH == 0 || enc_key.len() != 16 {
            return Err(NtlmError::NoSealing(flags));
        }
        let mut exported: [u8; 16] = enc_key.try_into().map_err(|_| bad())?;
        Rc4::new(&session_base).apply(&mut exported);
        // A MIC is present when the client's AV pairs say so (MsvAvFlags bit 0x2).
        if av_flags(&blob[28..]) & 2 != 0 {
            let mic = auth.get(72..88).ok_or_else(bad)?;
            let mut zeroed = auth.to_vec();
            zeroed[72..88].fill(0);
            if hmac_md5(&exported, &[&self.negotiate, &self.challenge, &zeroed]) != mic {
                return Err(NtlmError::BadCredentials);
            }
        }
        Ok((format!("{domain}\\{user}"), Session::new(&exported, false)))
    }
}

/// MsvAvFlags from a list of AV pairs (0 when absent).
fn av_flags(mut pairs: &[u8]) -> u32 {
    while pairs.len() >= 4 {
        let id = u16::from_le_bytes([pairs[0], pairs[1]]);
        let len = u16::from_le_bytes([pairs[2], pairs[3]]) as usize;
        let Some(value) = pairs.get(4..4 + len) else {
            return 0;
        };
        if id == 0 {
            return 0;
        }
        if id == 6 && len == 4 {
            return u32::from_le_bytes(value.try_into().unwrap_or([0; 4]));
        }
        pairs = &pairs[4 + len..];
    }
    0
}

/// The MIME boundary and protocol of MS-WSMV 2.2.9.1.1 (SPNEGO/NTLM).
pub const BOUNDARY: &str = "Encrypted Boundary";
pub const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";

/// The `Content-Type` of a sealed body.
pub fn sealed_content_type() -> String {
    format!("multipart/encrypted;protocol=\"{PROTOCOL}\";boundary=\"{BOUNDARY}\"")
}

/// Wraps a SOAP envelope into the multipart/encrypted body.
pub fn wrap(session: &mut Session, message: &[u8]) -> Vec<u8> {
    let (sealed, sig) = session.seal(message);
    let mut out = format!(
        "--{BOUNDARY}\r\n\tContent-Type: {PROTOCOL}\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={}\r\n--{BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n",
        message.len()
    )
    .into_bytes();
    out.extend(16u32.to_le_bytes());
    out.extend(sig);
    out.extend(sealed);
    out.extend(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// Unwraps a multipart/encrypted body, checking length and signature.
pub fn unwrap(session: &mut Session, body: &[u8]) -> Result<Vec<u8>, NtlmError> {
    let bad = || NtlmError::Malformed("multipart/encrypted");
    let marker = b"Length=";
    let at = find(body, marker).ok_or_else(bad)? + marker.len();
    let end = at
        + body[at..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .ok_or_else(bad)?;
    let length: usize = std::str::from_utf8(&body[at..end])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let octet = b"application/octet-stream\r\n";
    let start = find(body, octet).ok_or_else(bad)? + octet.len();
    let rest = &body[start..];
    let sig_len = u32::from_le_bytes(
        rest.get(..4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    ) as usize;
    // Both lengths come from the peer: add them with overflow checks.
    let sig_end = sig_len.checked_add(4).ok_or_else(bad)?;
    let sealed_end = sig_end.checked_add(length).ok_or_else(bad)?;
    let sig = rest.get(4..sig_end).ok_or_else(bad)?;
    let sealed = rest.get(sig_end..sealed_end).ok_or_else(bad)?;
    session.unseal(sealed, sig)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // MS-NLMP 4.2.4: NTLMv2 with User/Domain/Password.
    #[test]
    fn ntowf_v2_matches_the_spec() {
        assert_eq!(
            ntowf_v2("Password", "User", "Domain").to_vec(),
            hex("0c868a403bfd7a93a3001ef22ef02e3f")
        );
    }

    #[test]
    fn rc4_matches_a_known_vector() {
        // RFC 6229 section 2, 128-bit key 0x0102…10, keystream at offset 0
        // (NTLM's RC4 keys are always 16 bytes).
        let mut d = vec![0u8; 16];
        Rc4::new(&hex("0102030405060708090a0b0c0d0e0f10")).apply(&mut d);
        assert_eq!(d, hex("9ac7cc9a609d1ef7b2932899cde41b97"));
    }

    #[test]
    fn ntproofstr_and_session_key_match_the_spec() {
        let key = ntowf_v2("Password", "User", "Domain");
        let server_challenge = hex("0123456789abcdef");
        let mut blob = hex("0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000");
        blob.extend(hex(
            "02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000",
        ));
        blob.extend(hex("00000000"));
        let proof = hmac_md5(&key, &[&server_challenge, &blob]);
        assert_eq!(proof.to_vec(), hex("68cd0ab851e51c96aabc927bebef6a1c"));
        assert_eq!(
            hmac_md5(&key, &[&proof]).to_vec(),
            hex("8de40ccadbc14a82f15cb0ad0de95ca3")
        );
    }

    #[test]
    fn sealing_matches_the_spec() {
        // MS-NLMP 4.2.4.4: RandomSessionKey 0x55 * 16, "Plaintext" in UTF-16LE.
        let mut s = Session::new(&[0x55; 16], true);
        let (sealed, sig) = s.seal(&utf16("Plaintext"));
        assert_eq!(sealed, hex("54e50165bf1936dc996020c1811b0f06fb5f"));
        assert_eq!(sig.to_vec(), hex("010000007fb38ec5c55d497600000000"));
    }

    #[test]
    fn handshake_and_wrap_round_trip() {
        let neg = negotiate();
        let acc = Acceptor::challenge(&neg, "EX01", "ex01.contoso.local", "LAB", "contoso.local")
            .unwrap();
        let (auth, mut client) =
            authenticate(acc.challenge_message(), "lab\\admin", "pw", "MGMT").unwrap();
        let (user, mut server) = acc.accept(&auth, "LAB\\Admin", "pw").unwrap();
        assert_eq!(user, "lab\\admin");
        for msg in [&b"<s:Envelope/>"[..], b"second message", b""] {
            let body = wrap(&mut client, msg);
            assert_eq!(unwrap(&mut server, &body).unwrap(), msg);
            let back = wrap(&mut server, msg);
            assert_eq!(unwrap(&mut client, &back).unwrap(), msg);
        }
        // A replayed (or tampered) message fails the signature check.
        let body = wrap(&mut client, b"x");
        unwrap(&mut server, &body).unwrap();
        assert_eq!(unwrap(&mut server, &body), Err(NtlmError::BadSignature));
    }

    #[test]
    fn a_wrong_password_is_refused() {
        let acc = Acceptor::challenge(
            &negotiate(),
            "EX01",
            "ex01.contoso.local",
            "LAB",
            "contoso.local",
        )
        .unwrap();
        let (auth, _) =
            authenticate(acc.challenge_message(), "lab\\admin", "wrong", "MGMT").unwrap();
        assert!(matches!(
            acc.accept(&auth, "lab\\admin", "pw"),
            Err(NtlmError::BadCredentials)
        ));
    }
}
