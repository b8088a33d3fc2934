//! Failure classification: every way a request can fail ends as a stable, Node-style `code`.
//!
//! Transport failures keep the names Node users already switch on (`ECONNREFUSED`, `ETIMEDOUT`,
//! OpenSSL's certificate error names), because node-etcd surfaced Node's own errors there.

use std::error::Error as StdError;
use std::fmt;
use std::io;

/// A failed attempt against one server, before it reaches JS.
#[derive(Debug, Clone)]
pub struct TransportError {
  pub code: &'static str,
  pub message: String,
  pub syscall: Option<&'static str>,
  /// The failure happened while connecting (TCP, DNS, TLS handshake): the request was never
  /// sent, so even a write may safely go to another member.
  pub before_send: bool,
}

impl TransportError {
  pub fn new(code: &'static str, message: impl Into<String>) -> Self {
    Self { code, message: message.into(), syscall: None, before_send: false }
  }
}

impl fmt::Display for TransportError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.code, self.message)
  }
}

/// A configuration error raised while building a client (bad URL, unreadable TLS material).
#[derive(Debug, Clone)]
pub struct ConfigError {
  pub code: &'static str,
  pub message: String,
}

impl ConfigError {
  pub fn new(code: &'static str, message: impl Into<String>) -> Self {
    Self { code, message: message.into() }
  }
}

impl From<ConfigError> for napi::Error {
  fn from(e: ConfigError) -> Self {
    // napi::Error<Status> cannot carry a string code, so the code travels as a `[CODE] ` prefix
    // of the message; `lib/errors.js` moves it to `err.code`.
    napi::Error::new(napi::Status::InvalidArg, format!("[{}] {}", e.code, e.message))
  }
}

/// The connect step (TCP, proxy tunnel, TLS handshake) outlasted the `timeout` option.
#[derive(Debug)]
pub struct ConnectTimedOut;

impl fmt::Display for ConnectTimedOut {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("connect timed out")
  }
}

impl StdError for ConnectTimedOut {}

/// Node (via `request`) says ESOCKETTIMEDOUT for a response or body that stalled.
pub fn socket_timed_out() -> TransportError {
  TransportError::new("ESOCKETTIMEDOUT", "ESOCKETTIMEDOUT")
}

/// Maps a failed exchange to a Node-style code by walking its source chain. `connect`: the
/// failure happened while connecting, so the request never left the client.
pub fn classify(err: &(dyn StdError + 'static), connect: bool) -> TransportError {
  let mut e = classify_inner(err, connect);
  e.before_send = connect;
  e
}

fn classify_inner(err: &(dyn StdError + 'static), connect: bool) -> TransportError {
  let causes = causes(err);
  let timed_out = causes.iter().any(|e| e.is::<ConnectTimedOut>() || e.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::TimedOut));
  if timed_out {
    // Both are per-attempt idle timeouts: ETIMEDOUT while connecting, ESOCKETTIMEDOUT after.
    return if connect {
      TransportError { code: "ETIMEDOUT", message: "connect ETIMEDOUT".into(), syscall: Some("connect"), before_send: true }
    } else {
      socket_timed_out()
    };
  }
  // A TLS failure travels wrapped in io::Errors (tokio-rustls, then hyper wraps again);
  // it wins over the io::Error that carries it.
  if let Some(tls) = causes.iter().find_map(|e| e.downcast_ref::<rustls::Error>()) {
    return classify_tls(tls);
  }
  // The innermost io::Error with a real kind names the socket failure.
  if let Some(io_err) = causes.iter().rev().filter_map(|e| e.downcast_ref::<io::Error>()).find(|e| e.kind() != io::ErrorKind::Other) {
    return classify_io(io_err, connect);
  }
  let text = error_chain_text(err);
  if text.contains("dns error") || text.contains("failed to lookup address") {
    return TransportError { code: "ENOTFOUND", message: text, syscall: Some("getaddrinfo"), before_send: true };
  }
  if connect {
    return TransportError { code: "ECONNREFUSED", message: text, syscall: Some("connect"), before_send: true };
  }
  // The server closed the connection before a complete response: Node calls this
  // "socket hang up" with ECONNRESET, and node-etcd's leader-election retry keys on it.
  TransportError::new("ECONNRESET", format!("socket hang up ({text})"))
}

/// Every error in the chain, following both `source()` and the payload of wrapping io::Errors
/// (`io::Error::source()` skips the error it wraps).
fn causes<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
  let mut out: Vec<&'a (dyn StdError + 'static)> = Vec::new();
  let mut next = Some(err);
  while let Some(e) = next {
    if out.len() >= 32 {
      break;
    }
    out.push(e);
    next = match e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
      Some(inner) => Some(inner as &(dyn StdError + 'static)),
      None => e.source(),
    };
  }
  out
}

fn classify_io(e: &io::Error, connect: bool) -> TransportError {
  use io::ErrorKind::*;
  let syscall = if connect { Some("connect") } else { Some("read") };
  let code = match e.kind() {
    ConnectionRefused => "ECONNREFUSED",
    ConnectionReset | UnexpectedEof | BrokenPipe => "ECONNRESET",
    ConnectionAborted => "ECONNABORTED",
    TimedOut => "ETIMEDOUT",
    AddrNotAvailable => "EADDRNOTAVAIL",
    NotConnected => "ENOTCONN",
    _ => match e.raw_os_error() {
      Some(101) => "ENETUNREACH",
      Some(113) => "EHOSTUNREACH",
      _ if connect => "ECONNREFUSED",
      _ => "ECONNRESET",
    },
  };
  TransportError { code, message: format!("{} {}", syscall.unwrap_or(""), e).trim().to_string(), syscall, before_send: connect }
}

/// OpenSSL-style names, as Node reports certificate problems.
fn classify_tls(e: &rustls::Error) -> TransportError {
  use rustls::CertificateError as C;
  let code = match e {
    rustls::Error::InvalidCertificate(c) => match c {
      C::UnknownIssuer => "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      C::NotValidForName | C::NotValidForNameContext { .. } => "ERR_TLS_CERT_ALTNAME_INVALID",
      C::Expired | C::ExpiredContext { .. } => "CERT_HAS_EXPIRED",
      C::NotValidYet | C::NotValidYetContext { .. } => "CERT_NOT_YET_VALID",
      C::BadSignature => "CERT_SIGNATURE_FAILURE",
      C::Revoked => "CERT_REVOKED",
      C::InvalidPurpose | C::InvalidPurposeContext { .. } => "INVALID_PURPOSE",
      _ => "CERT_REJECTED",
    },
    rustls::Error::AlertReceived(_) => "EPROTO",
    rustls::Error::NoCertificatesPresented => "ERR_TLS_NO_CERTIFICATE",
    _ => "EPROTO",
  };
  TransportError::new(code, format!("TLS: {e}"))
}

/// The whole source chain as one line, for messages (never contains credentials: the errors
/// of hyper and its connectors name no URL).
pub fn error_chain_text(err: &(dyn StdError + 'static)) -> String {
  let mut text = err.to_string();
  let mut source = err.source();
  while let Some(e) = source {
    let s = e.to_string();
    if !text.contains(&s) {
      text.push_str(": ");
      text.push_str(&s);
    }
    source = e.source();
  }
  text
}

/// `url` (or a bare `host:port`) with any `user:password@` removed, textually, so it works on input
/// no parser accepts: error texts and member names never carry credentials.
pub fn without_userinfo(url: &str) -> String {
  let start = url.find("://").map(|i| i + 3).unwrap_or(0);
  let end = url[start..].find(['/', '?', '#']).map(|i| start + i).unwrap_or(url.len());
  match url[start..end].rfind('@') {
    Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
    None => url.to_string(),
  }
}
