//! The wire between cu-roll and a Windows server, usable by a client and a
//! server alike: WS-Management/WinRS SOAP envelopes (`envelope`), the
//! UTF-16/base64/CLIXML encodings PowerShell uses (`encoding`), HTTP/1.1
//! framing on one kept-alive connection (`http`), and NTLM with message
//! sealing (`ntlm`). It holds the *protocol* only: no retry policy, no
//! client's private conventions and nothing of cu-roll's orchestration, so
//! the lab's server built on it answers any conforming WinRM client.

pub mod encoding;
pub mod envelope;
pub mod http;
pub mod ntlm;
