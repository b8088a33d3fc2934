//! napi exports only: argument conversion in, plain data out. The policy lives in the
//! modules below; the node-etcd calling conventions live in the JS facade (`lib/`).
#![deny(clippy::all)]

mod calls;
mod cluster;
mod error;
#[cfg(unix)]
mod jsloop;
mod tls;
mod transport;
mod v2;
mod v3;

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use http::Method;
use tokio_util::sync::CancellationToken;

use crate::calls::{lock, DeliverOnce, InFlight};
use crate::cluster::{Attempt, Call, Failure, Outcome};
use crate::error::ConfigError;
use crate::tls::TlsMaterial;
use crate::transport::{Body, ProxyMode, Transport, TransportOptions};
use crate::v2::watch::{self, EventSink, WatchEvent, WatchSpec};

/// Client settings, already normalised by the facade.
#[napi(object)]
pub struct ClientOptions {
  /// Base URLs (`http(s)://[user:pass@]host[:port][/prefix]`).
  pub hosts: Vec<String>,
  /// Per-attempt idle timeout in milliseconds (connect and each read).
  pub timeout: Option<f64>,
  pub ca: Option<Vec<Buffer>>,
  pub cert: Option<Buffer>,
  pub key: Option<Buffer>,
  pub passphrase: Option<String>,
  pub pfx: Option<Buffer>,
  /// Defaults to true.
  pub reject_unauthorized: Option<bool>,
  pub username: Option<String>,
  pub password: Option<String>,
  /// A proxy URL for every request; absent: the environment's HTTP_PROXY/HTTPS_PROXY/NO_PROXY.
  pub proxy: Option<String>,
  /// Ignore proxies entirely (`proxy: false`).
  pub no_proxy: Option<bool>,
  /// Extra request headers, flattened: [name, value, …].
  pub headers: Option<Vec<String>>,
}

/// The result of one call after failover and retries. A call never rejects: every failure is
/// described here and the facade builds node-etcd's error objects from it.
#[napi(object)]
pub struct RawResult {
  /// HTTP status of the final response; 0 when no member answered below 500.
  pub status: u32,
  pub cancelled: bool,
  /// Only for `requestSync`: the overall deadline passed.
  pub timed_out: bool,
  /// A write failed after it may have reached a server, and was not sent again.
  pub outcome_unknown: bool,
  /// Lower-cased response headers as `name\nvalue\nname\nvalue`.
  pub headers: String,
  pub body: String,
  pub errors: Vec<RawAttemptError>,
  pub retries: u32,
}

#[napi(object)]
pub struct RawAttemptError {
  pub server: String,
  /// Transport failures: a Node-style code, message and syscall.
  pub code: Option<String>,
  pub message: Option<String>,
  pub syscall: Option<String>,
  /// Status >= 500: the response.
  pub status: Option<u32>,
  pub headers: Option<String>,
  pub body: Option<String>,
  /// Milliseconds since the epoch.
  pub timestamp: f64,
}

/// A running watch loop; `stop()` (or garbage collection) ends it.
#[napi]
pub struct WatchHandle {
  cancel: CancellationToken,
}

#[napi]
impl WatchHandle {
  #[napi]
  pub fn stop(&self) {
    self.cancel.cancel();
  }
}

impl Drop for WatchHandle {
  fn drop(&mut self) {
    self.cancel.cancel();
  }
}

/// One etcd client: one connection pool, one host list.
#[napi]
pub struct NativeClient {
  /// None once the client is closed.
  transport: RwLock<Option<Arc<Transport>>>,
  /// Where finished async calls go: one threadsafe function per client, weak (the facade keeps
  /// the process alive while calls are pending), shared by all its calls.
  completions: Arc<CompletionSink>,
  /// Cancellation handles of the calls in flight, by call id.
  in_flight: InFlight,
  /// Sync calls run on the JS thread itself: a current-thread runtime with its own connection
  /// pool, created on the first sync call. Driving the shared runtime from the JS thread would
  /// cost two thread hand-offs per call (about half of a call's latency on small VMs).
  sync: Mutex<Option<SyncEngine>>,
  /// What the sync engine is built from (kept current by `setHosts`).
  options: Mutex<TransportOptions>,
  /// Where async calls run: the JS thread's own loop (see `jsloop`). None: on the shared runtime,
  /// where libuv is not reachable (and off Unix) or with `ETCD_NAPI_V2_ENGINE=tokio`.
  #[cfg(unix)]
  local: Option<jsloop::Engine>,
}

/// `ETCD_NAPI_V2_ENGINE=tokio` runs async calls on the shared runtime even where the JS thread's
/// loop could (the fallback path, kept testable everywhere).
#[cfg(unix)]
fn js_loop_wanted() -> bool {
  std::env::var("ETCD_NAPI_V2_ENGINE").as_deref() != Ok("tokio")
}

/// Whether the status, headers and body say all there is to say of a result: the common call
/// crosses to JS as two numbers and two strings.
fn is_plain(r: &RawResult) -> bool {
  r.errors.is_empty() && r.retries == 0 && !r.cancelled && r.status != 0 && !r.outcome_unknown
}

/// JS receives `(id, status, headers, body, extra)`: `extra` is the whole result, and only when it
/// says more than the first three (failed attempts, retries, cancellation) — the common call
/// crosses as two numbers and two strings.
type CompletionArgs = FnArgs<(u32, u32, String, String, Option<RawResult>)>;
type CompletionSink = ThreadsafeFunction<Completion, (), CompletionArgs, napi::Status, false, true>;

struct Completion {
  id: u32,
  result: RawResult,
}

/// The result JS receives when a request task unwinds before it finishes.
pub(crate) fn unwound_result() -> RawResult {
  internal_failure("the request task ended unexpectedly")
}

/// A call that failed inside the client itself (`ERR_INTERNAL`).
pub(crate) fn internal_failure(message: &str) -> RawResult {
  let failure = RawAttemptError {
    server: String::new(),
    code: Some("ERR_INTERNAL".to_string()),
    message: Some(message.to_string()),
    syscall: None,
    status: None,
    headers: None,
    body: None,
    timestamp: cluster::now_ms(),
  };
  RawResult { status: 0, cancelled: false, timed_out: false, outcome_unknown: false, headers: String::new(), body: String::new(), errors: vec![failure], retries: 0 }
}

struct SyncEngine {
  runtime: tokio::runtime::Runtime,
  transport: Transport,
}

#[napi]
impl NativeClient {
  /// `onComplete(id, result)` receives every finished `submit`.
  #[napi(
    constructor,
    catch_unwind,
    ts_args_type = "options: ClientOptions, onComplete: (id: number, status: number, headers: string, body: string, extra: RawResult | null) => void"
  )]
  pub fn new(env: Env, options: ClientOptions, on_complete: Function<CompletionArgs, ()>) -> Result<Self> {
    #[cfg(unix)]
    let on_complete_raw = on_complete.value().value;
    let completions: CompletionSink = on_complete
      .build_threadsafe_function::<Completion>()
      .callee_handled::<false>()
      .weak::<true>()
      .build_callback(|ctx: ThreadsafeCallContext<Completion>| {
        let Completion { id, result } = ctx.value;
        if is_plain(&result) {
          Ok(FnArgs::from((id, result.status, result.headers, result.body, None)))
        } else {
          Ok(FnArgs::from((id, result.status, String::new(), String::new(), Some(result))))
        }
      })?;
    let proxy = match (options.no_proxy, options.proxy) {
      (Some(true), _) => ProxyMode::Disabled,
      (_, Some(url)) => ProxyMode::Fixed(url),
      _ => ProxyMode::Environment,
    };
    let headers = options
      .headers
      .unwrap_or_default()
      .chunks(2)
      .filter(|c| c.len() == 2)
      .map(|c| (c[0].clone(), c[1].clone()))
      .collect();
    let timeout = match options.timeout {
      None => None,
      Some(ms) => Some(millis(ms, "timeout")?),
    };
    let tls = TlsMaterial {
      ca: options.ca.unwrap_or_default().into_iter().map(|b| b.to_vec()).collect(),
      cert: options.cert.map(|b| b.to_vec()),
      key: options.key.map(|b| b.to_vec()),
      passphrase: options.passphrase,
      pfx: options.pfx.map(|b| b.to_vec()),
      reject_unauthorized: options.reject_unauthorized.unwrap_or(true),
    };
    let auth = options.username.map(|u| (u, options.password.unwrap_or_default()));
    let options = TransportOptions { hosts: options.hosts, timeout, tls, auth, proxy, headers };
    let transport = Transport::new(options.clone())?;
    #[cfg(unix)]
    let local = match js_loop_wanted() {
      true => unsafe { jsloop::Engine::new(env.raw(), on_complete_raw, &transport) },
      false => None,
    };
    #[cfg(not(unix))]
    let _ = env;
    Ok(Self {
      #[cfg(unix)]
      local,
      transport: RwLock::new(Some(Arc::new(transport))),
      completions: Arc::new(completions),
      in_flight: InFlight::default(),
      sync: Mutex::new(None),
      options: Mutex::new(options),
    })
  }

  /// Starts the v2 watch loop on `path` (a `/v2/keys/…` path) with the caller's options as
  /// `query`; `onEvent` receives each result. The loop runs until `stop()` on the handle.
  #[napi(catch_unwind, ts_args_type = "path: string, query: string, index: number | undefined | null, onEvent: (event: WatchEvent) => void")]
  pub fn watch(&self, path: String, query: String, index: Option<f64>, on_event: Function<WatchEvent, ()>) -> Result<WatchHandle> {
    // Weak: the JS watcher holds a ref'd timer instead, so `unref()` can let the process exit.
    let sink: EventSink = on_event.build_threadsafe_function::<WatchEvent>().callee_handled::<false>().weak::<true>().build()?;
    let index = match index {
      Some(i) if i.is_finite() && i >= 0.0 => Some(i as u64),
      Some(i) => return Err(ConfigError::new("ERR_INVALID_ARG_VALUE", format!("watch index must be a non-negative integer, got {i}")).into()),
      None => None,
    };
    let cancel = CancellationToken::new();
    let spec = WatchSpec { path, query, index };
    napi::bindgen_prelude::spawn(watch::run(self.transport()?, spec, cancel.clone(), sink));
    Ok(WatchHandle { cancel })
  }

  /// Starts one etcd call with failover and retries; its result goes to `onComplete(id, …)`.
  /// `order` lists host indexes (the facade's per-call shuffle); absent means the configured order.
  #[napi(catch_unwind)]
  #[allow(clippy::too_many_arguments)]
  pub fn submit(
    &self,
    id: u32,
    method: String,
    path: String,
    body: Option<String>,
    max_retries: u32,
    order: Option<Vec<u32>>,
    fast_retry: bool,
    json: Option<bool>,
    retry_writes: Option<bool>,
  ) -> Result<()> {
    let method = parse_method(&method)?;
    // The call itself, whichever engine runs it.
    let execute = |transport: Arc<Transport>, cancel: CancellationToken| async move {
      let order = host_order(&transport, order);
      let call = Call { method, path: &path, body: body.map(|b| Body::new(b, json.unwrap_or(false))), order: &order, max_retries, fast_retry, retry_writes: retry_writes.unwrap_or(false) };
      cluster::execute(&transport, &call, &cancel).await
    };
    #[cfg(unix)]
    if let Some(engine) = &self.local {
      let call = execute(engine.transport().ok_or_else(closed_error)?, self.in_flight.register(id));
      engine.submit(id, self.in_flight.clone(), async move { to_raw(call.await, false) });
      return Ok(());
    }
    let call = execute(self.transport()?, self.in_flight.register(id));
    let sink = Arc::clone(&self.completions);
    let guard = DeliverOnce::new(
      id,
      self.in_flight.clone(),
      move |result| {
        let _ = sink.call(Completion { id, result }, ThreadsafeFunctionCallMode::NonBlocking);
      },
      unwound_result,
    );
    napi::bindgen_prelude::spawn(async move {
      guard.deliver(to_raw(call.await, false));
    });
    Ok(())
  }

  /// Ends everything the client owns: calls in flight are cancelled (they complete as cancelled),
  /// pooled connections close, and later calls fail with `ERR_CLIENT_CLOSED`. Idempotent.
  #[napi]
  pub fn close(&self) {
    #[cfg(unix)]
    if let Some(engine) = &self.local {
      engine.close(&self.in_flight);
    }
    self.in_flight.cancel_all();
    self.transport.write().unwrap_or_else(|e| e.into_inner()).take();
    lock(&self.sync).take();
  }

  /// Replaces the host list (endpoint discovery); calls in flight finish on the old one.
  #[napi(catch_unwind)]
  pub fn set_hosts(&self, hosts: Vec<String>) -> Result<()> {
    let mut slot = self.transport.write().unwrap_or_else(|e| e.into_inner());
    let current = slot.as_ref().ok_or_else(closed_error)?;
    let auth = lock(&self.options).auth.clone();
    let next = current.with_hosts(&hosts, auth.as_ref())?;
    *slot = Some(Arc::new(next));
    drop(slot);
    #[cfg(unix)]
    if let Some(engine) = &self.local {
      if let Some(t) = engine.transport() {
        engine.set_transport(t.with_hosts(&hosts, auth.as_ref())?);
      }
    }
    let mut sync = lock(&self.sync);
    if let Some(engine) = sync.as_mut() {
      engine.transport = engine.transport.with_hosts(&hosts, auth.as_ref())?;
    }
    lock(&self.options).hosts = hosts;
    Ok(())
  }

  fn transport(&self) -> Result<Arc<Transport>> {
    self.transport.read().unwrap_or_else(|e| e.into_inner()).clone().ok_or_else(closed_error)
  }

  /// Which engine runs this client's async calls: `"uv"` (the JS thread's own loop) or
  /// `"tokio"` (the shared runtime). Diagnostics and tests only.
  #[napi(getter)]
  pub fn engine(&self) -> &'static str {
    #[cfg(unix)]
    if self.local.is_some() {
      return "uv";
    }
    "tokio"
  }

  /// Cancels call `id`: its socket is dropped and no retry continues. Unknown ids are ignored.
  #[napi]
  pub fn cancel(&self, id: u32) {
    self.in_flight.cancel(id);
    #[cfg(unix)]
    if let Some(engine) = &self.local {
      // Its futures see the cancellation now (and drop their sockets), not at the next wake.
      engine.poke();
    }
  }

  /// The same call, blocking the JS thread until it ends or `deadlineMs` passes.
  #[napi(catch_unwind)]
  #[allow(clippy::too_many_arguments)]
  pub fn request_sync(
    &self,
    method: String,
    path: String,
    body: Option<String>,
    max_retries: u32,
    order: Option<Vec<u32>>,
    fast_retry: bool,
    deadline_ms: f64,
    json: Option<bool>,
    retry_writes: Option<bool>,
  ) -> Result<RawResult> {
    let method = parse_method(&method)?;
    if self.transport.read().unwrap_or_else(|e| e.into_inner()).is_none() {
      return Err(closed_error());
    }
    let mut slot = lock(&self.sync);
    if slot.is_none() {
      let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ConfigError::new("ERR_CLIENT_INIT", format!("cannot start the sync runtime: {e}")))?;
      // hyper spawns its connection tasks where requests are made: inside this runtime.
      let options = lock(&self.options).clone();
      let transport = runtime.block_on(async { Transport::new(options) })?;
      *slot = Some(SyncEngine { runtime, transport });
    }
    let engine = slot.as_ref().ok_or_else(|| napi::Error::from_reason("sync engine unavailable"))?;
    let order = host_order(&engine.transport, order);
    let deadline = millis(deadline_ms, "syncTimeout")?;
    let call = Call { method, path: &path, body: body.map(|b| Body::new(b, json.unwrap_or(false))), order: &order, max_retries, fast_retry, retry_writes: retry_writes.unwrap_or(false) };
    let cancel = CancellationToken::new();
    let outcome = engine.runtime.block_on(async {
      // This runtime sleeps between sync calls: one yield lets it poll its sockets first, so pooled
      // connections the server closed meanwhile are noticed instead of being handed a request.
      tokio::task::yield_now().await;
      tokio::time::timeout(deadline, cluster::execute(&engine.transport, &call, &cancel)).await
    });
    Ok(match outcome {
      Ok(o) => to_raw(o, false),
      Err(_) => {
        // The abandoned request's connection task only runs while this runtime is driven: let it
        // see the cancellation and close the socket now rather than at the next sync call.
        engine.runtime.block_on(async {
          for _ in 0..4 {
            tokio::task::yield_now().await;
          }
        });
        to_raw(Outcome::Cancelled, true)
      }
    })
  }
}

/// A positive duration in milliseconds, up to about 24.8 days (Node's own timer limit).
pub(crate) fn millis(ms: f64, what: &str) -> Result<Duration> {
  const MAX_MS: f64 = 2_147_483_647.0;
  if !(ms.is_finite() && ms > 0.0 && ms <= MAX_MS) {
    return Err(ConfigError::new("ERR_INVALID_ARG_VALUE", format!("{what} must be a positive number of milliseconds up to {MAX_MS}, got {ms}")).into());
  }
  Ok(Duration::from_millis(ms.ceil() as u64))
}

fn closed_error() -> napi::Error {
  ConfigError::new("ERR_CLIENT_CLOSED", "this etcd client was closed").into()
}

fn parse_method(method: &str) -> Result<Method> {
  // The facade already sends upper case: no copy then (http's parser returns its constants).
  let parsed = if method.bytes().any(|b| b.is_ascii_lowercase()) { Method::from_bytes(method.to_ascii_uppercase().as_bytes()) } else { Method::from_bytes(method.as_bytes()) };
  parsed
    .map_err(|_| ConfigError::new("ERR_INVALID_ARG_VALUE", format!("invalid HTTP method {method:?}")).into())
}

fn host_order(transport: &Transport, order: Option<Vec<u32>>) -> Vec<usize> {
  let n = transport.hosts.len();
  match order {
    // Indexes come from JS: drop any that do not name a host rather than trusting them.
    Some(o) => o.into_iter().map(|i| i as usize).filter(|&i| i < n).collect(),
    None => (0..n).collect(),
  }
}

fn to_raw(outcome: Outcome, timed_out: bool) -> RawResult {
  let empty = |cancelled, outcome_unknown, errors, retries| RawResult { status: 0, cancelled, timed_out, outcome_unknown, headers: String::new(), body: String::new(), errors, retries };
  match outcome {
    Outcome::Response { response, errors, retries } => RawResult {
      status: response.status as u32,
      cancelled: false,
      timed_out,
      outcome_unknown: false,
      headers: response.headers,
      body: response.body,
      errors: errors.into_iter().map(raw_attempt).collect(),
      retries,
    },
    Outcome::AllFailed { errors, retries } => empty(false, false, errors.into_iter().map(raw_attempt).collect(), retries),
    Outcome::Uncertain { errors, retries } => empty(false, true, errors.into_iter().map(raw_attempt).collect(), retries),
    Outcome::Cancelled => empty(!timed_out, false, Vec::new(), 0),
  }
}

pub(crate) fn raw_attempt(a: Attempt) -> RawAttemptError {
  let (code, message, syscall, status, headers, body) = match a.failure {
    Failure::Transport(e) => (Some(e.code.to_string()), Some(e.message), e.syscall.map(str::to_string), None, None, None),
    Failure::Status(r) => (None, None, None, Some(r.status as u32), Some(r.headers), Some(r.body)),
  };
  RawAttemptError { server: a.server, code, message, syscall, status, headers, body, timestamp: a.timestamp_ms }
}

/// One tokio worker: a request future and hyper's connection task then run on the same thread,
/// which saves a cross-thread wake-up per call (costly on small VMs).
#[napi_derive::module_init]
fn init() {
  let workers: usize = std::env::var("ETCD_NAPI_WORKERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
  if let Ok(rt) = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
    napi::bindgen_prelude::create_custom_tokio_runtime(rt);
  }
}
