//! Server-streaming calls (Maintenance/Snapshot, Election/Observe) delivered to JS message by
//! message. JS pulls: each message needs a credit (`StreamHandle::request`), and the task does not
//! read the next message from etcd before it has one, so a slow consumer holds the stream back
//! through HTTP/2 flow control instead of piling messages up in memory.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::client::{Engine, Member};

pub enum StreamSignal {
  /// One encoded response message.
  Message(Bytes),
  /// etcd ended the stream with OK.
  End,
  /// The stream failed or could not be opened: (gRPC code, message).
  Failed(i32, String),
}

/// Runs one server-streaming call until etcd ends it, it fails, or `cancel` fires (then nothing
/// more is delivered). `credit` holds one permit per message JS is ready for.
pub async fn run(
  engine: Arc<Engine>,
  target: Option<Arc<Member>>,
  path: &'static str,
  body: Bytes,
  credit: Arc<Semaphore>,
  cancel: CancellationToken,
  deliver: impl Fn(StreamSignal) + Send + 'static,
) {
  let opened = tokio::select! {
    biased;
    _ = cancel.cancelled() => return,
    r = engine.server_stream(target, path, body, &cancel) => r,
  };
  // The engine is not needed past this point: let `close()` drop it while a stream still runs.
  drop(engine);
  let mut inbound = match opened {
    Ok(s) => s,
    Err(e) => {
      if !cancel.is_cancelled() {
        deliver(StreamSignal::Failed(e.code, e.message));
      }
      return;
    }
  };
  loop {
    let permit = tokio::select! {
      biased;
      _ = cancel.cancelled() => return,
      p = credit.acquire() => p,
    };
    match permit {
      Ok(p) => p.forget(),
      Err(_) => return,
    }
    let message = tokio::select! {
      biased;
      _ = cancel.cancelled() => return,
      m = inbound.message() => m,
    };
    match message {
      Ok(Some(bytes)) => deliver(StreamSignal::Message(bytes)),
      Ok(None) => {
        deliver(StreamSignal::End);
        return;
      }
      Err(status) => {
        deliver(StreamSignal::Failed(status.code() as i32, status.message().to_string()));
        return;
      }
    }
  }
}
