//! node-etcd's cluster policy: try the members in the caller's (shuffled) order, fail over on
//! transport errors and status >= 500, and when every failure so far looks like a leader
//! election, wait `100·16^n` ms and go round again, up to `maxRetries` times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;
use tokio_util::sync::CancellationToken;

use crate::error::TransportError;
use crate::transport::{Body, Response, Transport};

pub struct Call<'a> {
  pub method: Method,
  pub path: &'a str,
  pub body: Option<Body>,
  pub order: &'a [usize],
  pub max_retries: u32,
  /// `RUNNING_UNIT_TESTS=true`: node-etcd waits 1 ms between rounds.
  pub fast_retry: bool,
  /// node-etcd's rule for writes too: fail over and retry on any failure (opt-in, `retryWrites`).
  pub retry_writes: bool,
}

impl Call<'_> {
  /// Reads may be sent again; a write only when the previous attempt never reached a server.
  fn may_resend_after(&self, failure: &Failure) -> bool {
    if self.retry_writes || self.method == Method::GET || self.method == Method::HEAD {
      return true;
    }
    matches!(failure, Failure::Transport(e) if e.before_send)
  }
}

pub struct Attempt {
  pub server: String,
  pub failure: Failure,
  pub timestamp_ms: f64,
}

pub enum Failure {
  Transport(TransportError),
  Status(Response),
}

pub enum Outcome {
  Response { response: Response, errors: Vec<Attempt>, retries: u32 },
  AllFailed { errors: Vec<Attempt>, retries: u32 },
  /// A write failed after it may have reached a server: not sent again (it could apply twice).
  Uncertain { errors: Vec<Attempt>, retries: u32 },
  Cancelled,
}

pub async fn execute(transport: &Transport, call: &Call<'_>, cancel: &CancellationToken) -> Outcome {
  let mut errors = Vec::new();
  let mut retries = 0u32;
  loop {
    for &index in call.order {
      let attempt = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Outcome::Cancelled,
        r = transport.send(index, &call.method, call.path, call.body.as_ref()) => r,
      };
      let failure = match attempt {
        Ok(response) if response.status < 500 => return Outcome::Response { response, errors, retries },
        Ok(response) => Failure::Status(response),
        Err(e) => Failure::Transport(e),
      };
      let resend = call.may_resend_after(&failure);
      errors.push(Attempt { server: transport.hosts[index].base.clone(), failure, timestamp_ms: now_ms() });
      if !resend {
        return Outcome::Uncertain { errors, retries };
      }
    }
    // An empty host list records no error, and "every error matches" holds vacuously,
    // so node-etcd retries it; we keep that.
    if retries >= call.max_retries || !errors.iter().all(|a| looks_like_leader_election(&a.failure)) {
      return Outcome::AllFailed { errors, retries };
    }
    let wait = if call.fast_retry { Duration::from_millis(1) } else { retry_wait(retries) };
    tokio::select! {
      biased;
      _ = cancel.cancelled() => return Outcome::Cancelled,
      _ = tokio::time::sleep(wait) => {}
    }
    retries += 1;
  }
}

/// `100 · 16^n` ms, saturating instead of overflowing for absurd retry counts.
pub fn retry_wait(round: u32) -> Duration {
  let factor = 16u64.checked_pow(round).unwrap_or(u64::MAX);
  Duration::from_millis(100u64.saturating_mul(factor))
}

/// node-etcd's predicate: refused or reset connections, etcd errors 300/301, or etcd 0.4's
/// "Not current leader" text.
fn looks_like_leader_election(f: &Failure) -> bool {
  match f {
    Failure::Transport(e) => e.code == "ECONNREFUSED" || e.code == "ECONNRESET",
    Failure::Status(r) => {
      if r.body.contains("Not current leader") {
        return true;
      }
      match serde_json::from_str::<serde_json::Value>(&r.body) {
        Ok(v) => matches!(v.get("errorCode").and_then(|c| c.as_f64()), Some(c) if c == 300.0 || c == 301.0),
        Err(_) => false,
      }
    }
  }
}

pub fn now_ms() -> f64 {
  SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn status(body: &str) -> Failure {
    Failure::Status(Response { status: 500, headers: String::new(), body: body.to_string() })
  }

  fn call(method: Method, retry_writes: bool) -> Call<'static> {
    Call { method, path: "/", body: None, order: &[], max_retries: 0, fast_retry: true, retry_writes }
  }

  #[test]
  fn writes_are_resent_only_when_never_delivered() {
    let refused = Failure::Transport(TransportError { before_send: true, ..TransportError::new("ECONNREFUSED", "") });
    let reset = Failure::Transport(TransportError::new("ECONNRESET", ""));
    let timed_out = Failure::Transport(TransportError::new("ESOCKETTIMEDOUT", ""));
    for f in [&refused, &reset, &timed_out, &status("{}")] {
      assert!(call(Method::GET, false).may_resend_after(f), "reads are always resent");
      assert!(call(Method::PUT, true).may_resend_after(f), "retryWrites restores node-etcd");
    }
    assert!(call(Method::PUT, false).may_resend_after(&refused));
    assert!(!call(Method::PUT, false).may_resend_after(&reset));
    assert!(!call(Method::POST, false).may_resend_after(&timed_out));
    assert!(!call(Method::DELETE, false).may_resend_after(&status(r#"{"errorCode":300}"#)));
  }

  #[test]
  fn waits_grow_by_sixteen() {
    assert_eq!(retry_wait(0), Duration::from_millis(100));
    assert_eq!(retry_wait(1), Duration::from_millis(1600));
    assert_eq!(retry_wait(2), Duration::from_millis(25600));
    assert_eq!(retry_wait(100), Duration::from_millis(u64::MAX));
  }

  #[test]
  fn leader_election_predicate() {
    assert!(looks_like_leader_election(&Failure::Transport(TransportError::new("ECONNREFUSED", ""))));
    assert!(looks_like_leader_election(&Failure::Transport(TransportError::new("ECONNRESET", ""))));
    assert!(!looks_like_leader_election(&Failure::Transport(TransportError::new("ETIMEDOUT", ""))));
    assert!(looks_like_leader_election(&status(r#"{"errorCode":300,"message":"Raft Internal Error"}"#)));
    assert!(looks_like_leader_election(&status(r#"{"errorCode":301}"#)));
    assert!(!looks_like_leader_election(&status(r#"{"errorCode":100}"#)));
    assert!(looks_like_leader_election(&status("etcd: Not current leader")));
    assert!(!looks_like_leader_election(&status("Internal Server Error")));
  }
}
