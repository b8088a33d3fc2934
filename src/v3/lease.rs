//! Lease keep-alives for a whole client on one shared LeaseKeepAlive stream (Go clientv3 does the
//! same; etcd3 on npm opens a stream per lease). Each lease is refreshed at a third of its TTL and
//! declared lost when its deadline passes without a successful refresh, or when etcd answers TTL 0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

use super::client::{is_invalid_token, open_stream, Engine};
use crate::calls::lock;
use super::proto::{LeaseKeepAliveRequest, LeaseKeepAliveResponse};

pub enum LeaseSignal {
  /// etcd renewed the lease: its new TTL in seconds, and the encoded LeaseKeepAliveResponse (for
  /// its header, which etcd3 passes to `keepaliveSucceeded`).
  Succeeded(i64, Bytes),
  /// A refresh attempt failed (stream broken); the hub keeps trying until the deadline.
  Failed(i32, String),
  /// The lease is gone (expired, revoked, or not renewed before its deadline); no more signals.
  Lost(String),
}

pub type Notifier = Box<dyn Fn(LeaseSignal) + Send + Sync>;

struct Entry {
  ttl: Duration,
  deadline: Instant,
  next_due: Instant,
  notify: Notifier,
}

#[derive(Default)]
struct State {
  leases: HashMap<i64, Entry>,
  running: bool,
}

pub struct KeepAliveHub {
  engine: Arc<Engine>,
  state: Mutex<State>,
  changed: Notify,
  cancel: CancellationToken,
}

fn third(ttl: Duration) -> Duration {
  (ttl / 3).max(Duration::from_millis(500))
}

impl KeepAliveHub {
  pub fn new(engine: Arc<Engine>, cancel: CancellationToken) -> Arc<Self> {
    Arc::new(Self { engine, state: Mutex::new(State::default()), changed: Notify::new(), cancel })
  }

  /// Starts keeping `id` alive (its first refresh is sent at once). Replaces an earlier entry.
  pub fn add(self: &Arc<Self>, id: i64, ttl_secs: i64, notify: Notifier) {
    let now = Instant::now();
    let ttl = Duration::from_secs(ttl_secs.max(1) as u64);
    let start = {
      let mut st = lock(&self.state);
      st.leases.insert(id, Entry { ttl, deadline: now + ttl, next_due: now, notify });
      let start = !st.running;
      st.running = true;
      start
    };
    if start {
      napi::bindgen_prelude::spawn(Arc::clone(self).run());
    } else {
      self.changed.notify_one();
    }
  }

  pub fn remove(&self, id: i64) {
    lock(&self.state).leases.remove(&id);
    self.changed.notify_one();
  }

  async fn run(self: Arc<Self>) {
    let mut failures: u32 = 0;
    loop {
      if self.cancel.is_cancelled() || self.finish_if_idle() {
        return;
      }
      let (channel, token) = match self.engine.stream_target(&self.cancel).await {
        Ok(t) => t,
        Err(e) => {
          self.fail_all(e.code, &e.message);
          if !self.pause(failures).await {
            return;
          }
          failures += 1;
          continue;
        }
      };
      let (tx, rx) = mpsc::channel::<Bytes>(64);
      // The server answers the stream's headers with its first message: queue refreshes first.
      self.send_due(&tx);
      let opened = tokio::select! {
        biased;
        _ = self.cancel.cancelled() => return,
        r = open_stream(channel, "/etcdserverpb.Lease/LeaseKeepAlive", tokio_stream::wrappers::ReceiverStream::new(rx), token.as_deref()) => r,
      };
      let mut inbound = match opened {
        Ok(stream) => stream,
        Err(status) => {
          if is_invalid_token(&status) {
            self.engine.forget_token(token.as_deref());
          }
          self.fail_all(status.code() as i32, status.message());
          if !self.pause(failures).await {
            return;
          }
          failures += 1;
          continue;
        }
      };
      let broken = loop {
        if self.finish_if_idle() {
          return;
        }
        let wake = self.next_wake();
        tokio::select! {
          biased;
          _ = self.cancel.cancelled() => return,
          _ = self.changed.notified() => {}
          _ = tokio::time::sleep_until(wake) => {}
          m = inbound.next() => match m {
            Some(Ok(bytes)) => {
              failures = 0;
              if let Ok(resp) = LeaseKeepAliveResponse::decode(bytes.clone()) {
                self.renewed(resp.id, resp.ttl, bytes);
              }
            }
            Some(Err(status)) => break (status.code() as i32, status.message().to_string(), is_invalid_token(&status)),
            None => break (14, "the keep-alive stream ended".to_string(), false),
          },
        }
        self.expire_overdue();
        self.send_due(&tx);
      };
      let (code, message, expired_token) = broken;
      if expired_token {
        self.engine.forget_token(token.as_deref());
      }
      self.fail_all(code, &message);
      if !self.pause(failures).await {
        return;
      }
      failures += 1;
    }
  }

  /// Ends the task when no lease is left (a later `add` starts a new one).
  fn finish_if_idle(&self) -> bool {
    let mut st = lock(&self.state);
    if st.leases.is_empty() {
      st.running = false;
      return true;
    }
    false
  }

  fn next_wake(&self) -> Instant {
    let st = lock(&self.state);
    st.leases.values().map(|e| e.next_due.min(e.deadline)).min().unwrap_or_else(|| Instant::now() + Duration::from_secs(1))
  }

  fn send_due(&self, tx: &mpsc::Sender<Bytes>) {
    let now = Instant::now();
    let mut st = lock(&self.state);
    for (id, e) in st.leases.iter_mut() {
      if e.next_due <= now {
        // A full queue means refreshes are already pending; this one comes at the next wake.
        if tx.try_send(Bytes::from(LeaseKeepAliveRequest { id: *id }.encode_to_vec())).is_ok() {
          e.next_due = now + third(e.ttl);
        }
      }
    }
  }

  fn renewed(&self, id: i64, ttl: i64, raw: Bytes) {
    let now = Instant::now();
    let mut st = lock(&self.state);
    if ttl <= 0 {
      if let Some(e) = st.leases.remove(&id) {
        (e.notify)(LeaseSignal::Lost("etcdserver: requested lease not found".into()));
      }
      return;
    }
    if let Some(e) = st.leases.get_mut(&id) {
      e.ttl = Duration::from_secs(ttl as u64);
      e.deadline = now + e.ttl;
      e.next_due = now + third(e.ttl);
      (e.notify)(LeaseSignal::Succeeded(ttl, raw));
    }
  }

  fn expire_overdue(&self) {
    let now = Instant::now();
    let mut st = lock(&self.state);
    let overdue: Vec<i64> = st.leases.iter().filter(|(_, e)| e.deadline <= now).map(|(id, _)| *id).collect();
    for id in overdue {
      if let Some(e) = st.leases.remove(&id) {
        (e.notify)(LeaseSignal::Lost("the lease's TTL ran out before a keep-alive succeeded".into()));
      }
    }
  }

  fn fail_all(&self, code: i32, message: &str) {
    self.expire_overdue();
    let st = lock(&self.state);
    for e in st.leases.values() {
      (e.notify)(LeaseSignal::Failed(code, message.to_string()));
    }
  }

  async fn pause(&self, failures: u32) -> bool {
    let wait = Duration::from_millis(100u64.saturating_mul(1 << failures.min(5)).min(2_000));
    let until = Instant::now() + wait;
    // Deadlines keep running while disconnected.
    loop {
      let wake = self.next_wake().min(until);
      tokio::select! {
        biased;
        _ = self.cancel.cancelled() => return false,
        _ = tokio::time::sleep_until(wake) => {}
      }
      self.expire_overdue();
      if Instant::now() >= until {
        return !self.finish_if_idle();
      }
    }
  }
}
