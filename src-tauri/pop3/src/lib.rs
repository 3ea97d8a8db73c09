//! Postdesk's POP3 service: POP3 (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595), UIDL,
//! TOP and SASL PLAIN (RFC 5034), on a plain port with STLS and on an implicit-TLS port
//! (POP3S), over the contract's mail seam ([`MailBackend`]). Free of Tauri and of the
//! engine: it asks the backend's [`Directory`] and [`MailStore`] and nothing else.
//!
//! What it guarantees:
//! * **No password in clear.** USER/PASS and AUTH PLAIN are accepted only over TLS; on the
//!   plain port they are refused (`-ERR [SYS/PERM] … use STLS first`) until STLS, and CAPA
//!   lists USER and SASL only once the connection is encrypted. Input the client sent
//!   before the TLS handshake is discarded, so nothing injected in clear is read as a
//!   command after it. Passwords never reach a log or a `Debug` output.
//! * **Logins through the directory only.** Every USER/PASS and AUTH goes to
//!   [`Directory::verify_login`] (service `pop3`, the client's address), which counts
//!   failures, locks the account, applies the account's POP3 switch and the first-logon
//!   password change, and logs the attempt; each refusal is answered with its own
//!   `-ERR [AUTH]` text saying what the user can do. A connection that fails
//!   [`Pop3Limits::max_auth_failures`] logins is closed.
//! * **The INBOX, as it was at login.** A session sees the INBOX messages present when it
//!   logged in (RFC 1939), numbered in UID order; mail delivered meanwhile appears in the
//!   next session. UIDL is `<uidvalidity>.<uid>`, stable across sessions for as long as
//!   the message exists. One POP3 session per mailbox at a time (`-ERR [IN-USE]`).
//! * **Changes only at QUIT.** DELE marks, RSET unmarks; the store is changed only in the
//!   UPDATE state after QUIT: marked messages are flagged `\Deleted` and expunged (only
//!   those), and retrieved ones flagged `\Seen`. A connection that drops, times out or is
//!   shut down changes nothing.
//! * **Correct transfer.** Multi-line responses are byte-stuffed (a line starting with `.`
//!   gets another), bare LF becomes CRLF, and the `.` terminator always follows a CRLF. A
//!   message is read from the store once and written from that copy in chunks; TOP sends at
//!   most the header and the asked-for body lines.
//! * **Bounded resources.** Command lines of at most [`MAX_LINE`] bytes (longer ones are
//!   answered `-ERR`; a client sending too much garbage or too many bad commands is
//!   disconnected), an idle timeout (RFC 1939's autologout, 10 minutes by default), a
//!   handshake timeout for TLS, a global connection limit and one per client address.
//! * **Graceful shutdown.** [`Pop3Service::shutdown`] stops the listeners, lets a command
//!   being handled (a QUIT's update included) finish, tells waiting sessions
//!   `-ERR [SYS/TEMP]` and closes them.
//!
//! ```no_run
//! # async fn run(backend: std::sync::Arc<dyn postdesk_contract::mail::MailBackend>) -> std::io::Result<()> {
//! use postdesk_pop3::{Pop3Listener, Pop3Service};
//! let identity = postdesk_tls::Identity::self_signed(&["mail.example.com".into()])?;
//! let service = Pop3Service::builder(backend).tls(identity).build()?;
//! service.listen(Pop3Listener::Pop3, "0.0.0.0:2110".parse().unwrap()).await?;
//! service.listen(Pop3Listener::Pop3s, "0.0.0.0:2995".parse().unwrap()).await?;
//! // …
//! service.shutdown(std::time::Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```
//!
//! [`MailBackend`]: postdesk_contract::mail::MailBackend
//! [`Directory`]: postdesk_contract::mail::Directory
//! [`Directory::verify_login`]: postdesk_contract::mail::Directory::verify_login
//! [`MailStore`]: postdesk_contract::mail::MailStore
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod limits;
mod maildrop;
mod output;
mod server;
mod session;
mod shared;

pub use config::{DEFAULT_POP3_PORT, DEFAULT_POP3S_PORT, MAX_LINE, Pop3Limits, Pop3Listener};
pub use server::{Pop3Service, Pop3ServiceBuilder};
