//! The v2 watch loop: long-poll `GET …?wait=true&waitIndex=n`, track the next index, fail over
//! between members, back off after errors, and hand every result to JS. It keeps node-etcd's
//! event contract and fixes its gaps: no request after stop, prompt outage reports (one pass over
//! the members, no 27 s of client retries first), and no lost events when a member dies.

use std::sync::Arc;
use std::time::Duration;

use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use http::Method;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::cluster::{now_ms, Attempt, Failure};
use crate::transport::{flat_headers, header_value, read_response, Response, Transport};
use crate::{raw_attempt, RawAttemptError};

/// What the loop tells JS. `kind` is one of `change`, `resync`, `timeout`, `reconnect`,
/// `unexpected`; the facade turns it into node-etcd's events.
#[napi(object)]
pub struct WatchEvent {
  pub kind: String,
  pub body: Option<String>,
  pub headers: Option<String>,
  /// `reconnect` after transport failures: one entry per member tried.
  pub errors: Option<Vec<RawAttemptError>>,
  /// The index the next poll will ask for (null until one is known).
  pub next_index: Option<f64>,
  /// node-etcd's `retryAttempts` when the event happened.
  pub retry_attempts: u32,
}

pub type EventSink = ThreadsafeFunction<WatchEvent, (), WatchEvent, napi::Status, false, true>;

pub struct WatchSpec {
  /// `/v2/keys/<key>`
  pub path: String,
  /// The caller's options as a query string, without `wait`/`waitIndex` (may be empty).
  pub query: String,
  pub index: Option<u64>,
}

/// Only the fields the loop needs; the facade parses the whole body for the user.
#[derive(Deserialize)]
struct Probe {
  #[serde(rename = "errorCode")]
  error_code: Option<serde_json::Value>,
  index: Option<u64>,
  node: Option<ProbeNode>,
}

#[derive(Deserialize)]
struct ProbeNode {
  #[serde(rename = "modifiedIndex")]
  modified_index: Option<u64>,
}

/// node-etcd's watcher backoff: `2^n·300 + rand(0..=1000)` ms. The exponent stops growing at
/// 10 (about 5 minutes) instead of doubling forever.
pub fn backoff(retry_attempts: u32) -> Duration {
  let base = 300u64 << retry_attempts.min(10);
  Duration::from_millis(base + fastrand::u64(0..=1000))
}

fn target(spec: &WatchSpec, next: Option<u64>) -> String {
  let sep = if spec.query.is_empty() { "" } else { "&" };
  match next {
    Some(n) => format!("{}?{}{}waitIndex={}&wait=true", spec.path, spec.query, sep, n),
    None => format!("{}?{}{}wait=true", spec.path, spec.query, sep),
  }
}

fn header_u64(headers: &str, name: &str) -> Option<u64> {
  header_value(headers, name).and_then(|v| v.trim().parse().ok())
}

enum Poll {
  Answer(Response),
  /// Registered, then the client's read timeout passed with no event: like an empty answer.
  Quiet(String),
  AllFailed(Vec<Attempt>),
  Stopped,
}

pub async fn run(transport: Arc<Transport>, spec: WatchSpec, cancel: CancellationToken, sink: EventSink) {
  let mut next = spec.index;
  let mut retry_attempts: u32 = 0;
  loop {
    if cancel.is_cancelled() {
      return;
    }
    let event = match poll(&transport, &spec, &mut next, &cancel).await {
      Poll::Stopped => return,
      Poll::AllFailed(errors) => {
        let ev = event("reconnect", None, None, next, retry_attempts);
        WatchEvent { errors: Some(errors.into_iter().map(raw_attempt).collect()), ..ev }
      }
      Poll::Answer(r) => classify(r, &mut next, retry_attempts),
      Poll::Quiet(headers) => {
        let ev = event("timeout", None, None, next, retry_attempts);
        WatchEvent { headers: Some(headers), ..ev }
      }
    };
    let backs_off = event.kind == "reconnect" || event.kind == "unexpected";
    if !backs_off {
      retry_attempts = 0;
    }
    // Wait until JS has dispatched the event: a listener may call stop(), and then no further
    // request may be made.
    if sink.call_async_catch(event).await.is_err() || cancel.is_cancelled() {
      return;
    }
    if backs_off {
      tokio::select! {
        biased;
        _ = cancel.cancelled() => return,
        _ = tokio::time::sleep(backoff(retry_attempts)) => {}
      }
      retry_attempts = retry_attempts.saturating_add(1);
    }
  }
}

/// One long-poll, failing over across the members (in a fresh random order) until one answers
/// below 500.
async fn poll(transport: &Transport, spec: &WatchSpec, next: &mut Option<u64>, cancel: &CancellationToken) -> Poll {
  let mut order: Vec<usize> = (0..transport.hosts.len()).collect();
  fastrand::shuffle(&mut order);
  let mut errors = Vec::new();
  for index in order {
    let path = target(spec, *next);
    let failure = tokio::select! {
      biased;
      _ = cancel.cancelled() => return Poll::Stopped,
      head = transport.send_head(index, &Method::GET, &path, None) => match head {
        Err(e) => Failure::Transport(e),
        Ok(head) => {
          // etcd flushes the headers when the watch is registered: its X-Etcd-Index says that
          // history up to there held no matching event, so a poll that dies later can resume
          // after it without a gap.
          let head_headers = flat_headers(&head);
          let registered_at = if head.status() == 200 { header_u64(&head_headers, "x-etcd-index") } else { None };
          let read = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Poll::Stopped,
            r = read_response(head) => r,
          };
          match read {
            Ok(r) if r.status < 500 => return Poll::Answer(r),
            Ok(r) => Failure::Status(r),
            Err(e) => {
              if let Some(at) = registered_at {
                // Registration proves "nothing matched up to X-Etcd-Index" only when no waitIndex
                // was asked for: with one, etcd may have found an event in its history and been
                // sending it when the body was cut. Then the same waitIndex is asked again.
                if next.is_none() {
                  *next = Some(at + 1);
                }
                if e.code == "ESOCKETTIMEDOUT" {
                  return Poll::Quiet(head_headers);
                }
              }
              Failure::Transport(e)
            }
          }
        }
      },
    };
    errors.push(Attempt { server: transport.hosts[index].base.clone(), failure, timestamp_ms: now_ms() });
  }
  Poll::AllFailed(errors)
}

/// node-etcd's response handler, in its priority order.
fn classify(r: Response, next: &mut Option<u64>, retry_attempts: u32) -> WatchEvent {
  let xei = header_u64(&r.headers, "x-etcd-index");
  if r.body.trim().is_empty() {
    if let Some(at) = xei {
      // The long-poll ended cleanly without an event: had etcd's history held a match, the body
      // would carry it. So nothing up to X-Etcd-Index matched.
      if r.status == 200 {
        *next = Some(next.map_or(at + 1, |n| n.max(at + 1)));
      }
      return event("timeout", Some(r), None, *next, retry_attempts);
    }
    return event("unexpected", Some(r), None, *next, retry_attempts);
  }
  let probe: Option<Probe> = serde_json::from_str(&r.body).ok();
  let Some(probe) = probe else { return event("unexpected", Some(r), None, *next, retry_attempts) };
  if let Some(code) = probe.error_code.filter(|c| !c.is_null()) {
    if code.as_f64() == Some(401.0) {
      if let Some(index) = probe.index {
        // The requested index fell out of etcd's 1000-event window: resume from the current
        // index, as node-etcd does (events in the gap are lost; `resync` tells the user).
        *next = Some(index);
        return event("resync", Some(r), None, *next, retry_attempts);
      }
    }
    return event("reconnect", Some(r), None, *next, retry_attempts);
  }
  match probe.node.and_then(|n| n.modified_index) {
    Some(modified) => {
      *next = Some(modified + 1);
      event("change", Some(r), None, *next, retry_attempts)
    }
    None => event("unexpected", Some(r), None, *next, retry_attempts),
  }
}

fn event(kind: &str, r: Option<Response>, errors: Option<Vec<RawAttemptError>>, next: Option<u64>, retry_attempts: u32) -> WatchEvent {
  let (body, headers) = match r {
    Some(r) => (Some(r.body), Some(r.headers)),
    None => (None, None),
  };
  WatchEvent { kind: kind.to_string(), body, headers, errors, next_index: next.map(|n| n as f64), retry_attempts }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    Response { status, headers: headers.iter().map(|(k, v)| format!("{k}\n{v}")).collect::<Vec<_>>().join("\n"), body: body.to_string() }
  }

  #[test]
  fn backoff_follows_node_etcd_and_is_capped() {
    for n in 0..3 {
      let d = backoff(n).as_millis() as u64;
      assert!(d >= 300 << n && d <= (300 << n) + 1000);
    }
    assert!(backoff(40).as_millis() as u64 <= (300 << 10) + 1000);
  }

  #[test]
  fn target_appends_wait_parameters_after_the_callers() {
    let spec = WatchSpec { path: "/v2/keys/k".into(), query: "recursive=true".into(), index: None };
    assert_eq!(target(&spec, None), "/v2/keys/k?recursive=true&wait=true");
    assert_eq!(target(&spec, Some(7)), "/v2/keys/k?recursive=true&waitIndex=7&wait=true");
    let bare = WatchSpec { path: "/v2/keys/k".into(), query: String::new(), index: None };
    assert_eq!(target(&bare, Some(0)), "/v2/keys/k?waitIndex=0&wait=true");
  }

  #[test]
  fn change_moves_to_modified_index_plus_one() {
    let mut next = None;
    let ev = classify(resp(200, &[("x-etcd-index", "3")], r#"{"action":"set","node":{"key":"/k","modifiedIndex":5}}"#), &mut next, 2);
    assert_eq!(ev.kind, "change");
    assert_eq!(next, Some(6));
  }

  #[test]
  fn empty_answer_is_a_timeout_and_advances_past_the_registration_index() {
    let mut next = Some(4);
    assert_eq!(classify(resp(200, &[("x-etcd-index", "9")], ""), &mut next, 0).kind, "timeout");
    assert_eq!(next, Some(10));
    let mut ahead = Some(20);
    classify(resp(200, &[("x-etcd-index", "9")], ""), &mut ahead, 0);
    assert_eq!(ahead, Some(20));
    assert_eq!(classify(resp(200, &[], ""), &mut next, 0).kind, "unexpected");
  }

  #[test]
  fn cleared_index_resyncs_to_the_current_index() {
    let mut next = Some(32);
    let body = r#"{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"x","index":1140}"#;
    assert_eq!(classify(resp(400, &[], body), &mut next, 3).kind, "resync");
    assert_eq!(next, Some(1140));
  }

  #[test]
  fn other_errors_and_garbage() {
    let mut next = Some(1);
    assert_eq!(classify(resp(400, &[], r#"{"errorCode":209,"message":"Invalid field"}"#), &mut next, 0).kind, "reconnect");
    assert_eq!(classify(resp(400, &[], r#"{"errorCode":401,"message":"no index"}"#), &mut next, 0).kind, "reconnect");
    assert_eq!(classify(resp(200, &[], "not json"), &mut next, 0).kind, "unexpected");
    assert_eq!(classify(resp(200, &[], "{}"), &mut next, 0).kind, "unexpected");
    assert_eq!(next, Some(1));
  }
}
