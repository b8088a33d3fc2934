//! One v3 watcher: a gRPC Watch stream that survives member failures without losing or repeating
//! an event, with Go clientv3's resume rules:
//! - the first `created` answer pins the start revision (header revision + 1 when none was asked);
//! - after events, the next revision is the last event's `mod_revision + 1`; a progress
//!   notification (no events) moves it to `header.revision + 1`;
//! - on any stream failure it reconnects (another member, backoff) from that revision;
//! - a compacted start revision ends the watcher: JS gets etcd's answer with `compact_revision`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

use super::client::{is_invalid_token, names_stale_token, open_stream, Engine};
use super::proto::{WatchCreateRequest, WatchOp, WatchRequest, WatchResponse};

/// What the loop reports to JS.
pub enum WatchSignal {
  /// About to open a stream (also before each reconnect).
  Connecting,
  /// An encoded WatchResponse, exactly as etcd sent it (the first one is the `created` answer).
  Response(Bytes),
  /// The stream failed; the loop reconnects after a backoff. (gRPC code, message)
  Disconnected(i32, String),
  /// The watcher is over: cancelled by etcd (e.g. compacted revision: the last Response says why)
  /// or by a fatal error. (gRPC code or -1, message)
  Ended(i32, String),
}

/// Delivers a signal and waits until JS has handled it (so ordering holds and a `cancel()` from a
/// listener stops the loop before anything else happens). Returns false when JS is gone.
pub trait Sink: Send + Sync + 'static {
  fn deliver(&self, signal: WatchSignal) -> impl std::future::Future<Output = bool> + Send;
}

fn backoff(attempt: u32) -> Duration {
  let base = 100u64.saturating_mul(1 << attempt.min(6)).min(5_000);
  Duration::from_millis(base / 2 + fastrand::u64(0..=base / 2))
}

pub async fn run<S: Sink>(engine: Arc<Engine>, mut create: WatchCreateRequest, cancel: CancellationToken, sink: S) {
  // 0 = "from now": the first `created` answer tells where "now" was.
  let mut next = create.start_revision;
  let mut failures: u32 = 0;
  // etcd 3.5 cancels a watch created with an expired token as "permission denied" (not "invalid
  // auth token", etcd-io/etcd#12385): re-authenticate once before believing it.
  let mut auth_retried = false;
  loop {
    if cancel.is_cancelled() || !sink.deliver(WatchSignal::Connecting).await {
      return;
    }
    let (channel, token) = match engine.stream_target(&cancel).await {
      Ok(t) => t,
      Err(e) => {
        if cancel.is_cancelled() {
          return;
        }
        if !sink.deliver(WatchSignal::Disconnected(e.code, e.message)).await || !pause(&cancel, failures).await {
          return;
        }
        failures += 1;
        continue;
      }
    };
    create.start_revision = next;
    let first = WatchRequest { request_union: Some(WatchOp::Create(create.clone())) };
    // The request stream stays open (dropping it would half-close the watch): it yields the create
    // request and then waits for the watcher to end.
    let hold = cancel.clone();
    let outbound = tokio_stream::once(Bytes::from(first.encode_to_vec())).chain(WaitFor(Box::pin(async move { hold.cancelled_owned().await })));
    let opened = tokio::select! {
      biased;
      _ = cancel.cancelled() => return,
      r = open_stream(channel, "/etcdserverpb.Watch/Watch", outbound, token.as_deref()) => r,
    };
    let mut inbound = match opened {
      Ok(stream) => stream,
      Err(status) => {
        if is_invalid_token(&status) {
          engine.forget_token(token.as_deref());
        }
        if !sink.deliver(WatchSignal::Disconnected(status.code() as i32, status.message().to_string())).await || !pause(&cancel, failures).await {
          return;
        }
        failures += 1;
        continue;
      }
    };
    let failure = loop {
      let message = tokio::select! {
        biased;
        _ = cancel.cancelled() => return,
        m = inbound.next() => m,
      };
      let bytes = match message {
        Some(Ok(b)) => b,
        Some(Err(status)) => break (status.code() as i32, status.message().to_string(), is_invalid_token(&status)),
        None => break (14, "the watch stream ended".to_string(), false),
      };
      let Ok(resp) = WatchResponse::decode(bytes.clone()) else {
        break (13, "undecodable watch response".to_string(), false);
      };
      failures = 0;
      // etcd 3.5 cancels with "permission denied" (see above), 3.4 with its usual stale-token words.
      let stale_token = resp.cancel_reason.contains("permission denied") || names_stale_token(&resp.cancel_reason);
      if resp.canceled && stale_token && token.is_some() && engine.has_credentials() && !auth_retried {
        auth_retried = true;
        break (16, "the watch was refused with a cached auth token; authenticating again".to_string(), true);
      }
      if resp.created && !resp.canceled {
        auth_retried = false;
      }
      let header_rev = resp.header.as_ref().map(|h| h.revision).unwrap_or(0);
      if resp.created && next == 0 {
        next = header_rev + 1;
      }
      if let Some(last) = resp.events.last().and_then(|e| e.kv.as_ref()) {
        next = next.max(last.mod_revision + 1);
      } else if !resp.created && !resp.canceled && header_rev > 0 {
        next = next.max(header_rev + 1);
      }
      if !sink.deliver(WatchSignal::Response(bytes)).await {
        return;
      }
      if resp.canceled {
        let reason = if resp.compact_revision > 0 {
          format!("etcdserver: mvcc: required revision has been compacted (compact revision {})", resp.compact_revision)
        } else if resp.cancel_reason.is_empty() {
          "the watch was cancelled by etcd".to_string()
        } else {
          resp.cancel_reason.clone()
        };
        let _ = sink.deliver(WatchSignal::Ended(-1, reason)).await;
        return;
      }
    };
    if cancel.is_cancelled() {
      return;
    }
    let (code, message, token_expired) = failure;
    if token_expired {
      engine.forget_token(token.as_deref());
    }
    if !sink.deliver(WatchSignal::Disconnected(code, message)).await || !pause(&cancel, failures).await {
      return;
    }
    failures += 1;
  }
}

/// Sleeps a backoff; false if cancelled meanwhile.
async fn pause(cancel: &CancellationToken, failures: u32) -> bool {
  tokio::select! {
    biased;
    _ = cancel.cancelled() => false,
    _ = tokio::time::sleep(backoff(failures)) => true,
  }
}

/// A stream that yields nothing and ends when its future completes (keeps the request side open).
struct WaitFor(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>);

impl tokio_stream::Stream for WaitFor {
  type Item = Bytes;
  fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Bytes>> {
    std::future::Future::poll(self.0.as_mut(), cx).map(|_| None)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn backoff_is_bounded() {
    for n in 0..20 {
      let d = backoff(n).as_millis();
      assert!((50..=5_000).contains(&d), "{n}: {d}");
    }
  }
}
