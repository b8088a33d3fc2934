//! Bookkeeping shared by the v2 and v3 clients for calls in flight: their cancellation tokens by
//! call id, and delivering each call's result to JS exactly once.

use std::sync::{Arc, Mutex, MutexGuard};

use rustc_hash::FxHashMap;

use tokio_util::sync::CancellationToken;

/// A poisoned lock still guards valid data here: keep going rather than panic.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
  m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Cancellation handles of the calls in flight, by call id.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<FxHashMap<u32, CancellationToken>>>);

impl InFlight {
  /// Registers call `id`; the token is cancelled by `cancel(id)` or `cancel_all()`.
  pub fn register(&self, id: u32) -> CancellationToken {
    let token = CancellationToken::new();
    lock(&self.0).insert(id, token.clone());
    token
  }

  /// Unknown (finished) ids are ignored.
  pub fn cancel(&self, id: u32) {
    if let Some(token) = lock(&self.0).remove(&id) {
      token.cancel();
    }
  }

  pub fn cancel_all(&self) {
    for (_, token) in lock(&self.0).drain() {
      token.cancel();
    }
  }

  pub(crate) fn finish(&self, id: u32) {
    lock(&self.0).remove(&id);
  }
}

/// Delivers call `id`'s result exactly once: with `deliver(result)`, or, if the task unwinds
/// before that, with `on_unwind()` as a failed call, so a pending JS call can never hang.
pub struct DeliverOnce<R: 'static> {
  id: u32,
  in_flight: InFlight,
  send: Option<Box<dyn FnOnce(R) + Send>>,
  on_unwind: fn() -> R,
}

impl<R: 'static> DeliverOnce<R> {
  pub fn new(id: u32, in_flight: InFlight, send: impl FnOnce(R) + Send + 'static, on_unwind: fn() -> R) -> Self {
    Self { id, in_flight, send: Some(Box::new(send)), on_unwind }
  }

  pub fn deliver(mut self, result: R) {
    self.send_once(result);
  }

  fn send_once(&mut self, result: R) {
    if let Some(send) = self.send.take() {
      self.in_flight.finish(self.id);
      send(result);
    }
  }
}

impl<R: 'static> Drop for DeliverOnce<R> {
  fn drop(&mut self) {
    if self.send.is_some() {
      let failure = (self.on_unwind)();
      self.send_once(failure);
    }
  }
}
