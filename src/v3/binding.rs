//! napi surface of the v3 engine: plain data in, encoded messages out. The facade
//! (`lib/v3/rpc.js`) encodes requests, decodes answers and builds etcd3's objects and errors.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::client::{CallError, Engine, EngineOptions};
use crate::calls::{lock, DeliverOnce, InFlight};
use super::lease::{KeepAliveHub, LeaseSignal};
use super::proto::WatchCreateRequest;
use super::stream::{self, StreamSignal};
use super::watch::{self, WatchSignal};
use crate::error::ConfigError;
use crate::tls::TlsMaterial;

#[napi(object)]
pub struct V3Options {
  /// `http(s)://host:port` of each member.
  pub hosts: Vec<String>,
  pub ca: Option<Vec<Buffer>>,
  pub cert: Option<Buffer>,
  pub key: Option<Buffer>,
  pub passphrase: Option<String>,
  pub reject_unauthorized: Option<bool>,
  /// Milliseconds to establish a connection to a member.
  pub dial_timeout: Option<f64>,
  pub username: Option<String>,
  pub password: Option<String>,
}

/// `(id, code, message, body)`: `code` is -1 on success (then `body` holds the encoded answer),
/// else the gRPC status code with etcd's message.
type Done = FnArgs<(u32, i32, String, Option<Buffer>)>;
type DoneSink = ThreadsafeFunction<Finished, (), Done, napi::Status, false, true>;

struct Finished {
  id: u32,
  result: std::result::Result<Bytes, CallError>,
}

/// The native side of `Etcd3`: one channel per member, multiplexing every call.
#[napi]
pub struct V3Client {
  engine: RwLock<Option<Arc<Engine>>>,
  /// All leases of this client on one keep-alive stream (started with the first lease).
  hub: Mutex<Option<Arc<KeepAliveHub>>>,
  /// Ends the hub and every watcher when the client closes.
  closing: CancellationToken,
  done: Arc<DoneSink>,
  in_flight: InFlight,
}

#[napi]
impl V3Client {
  #[napi(constructor, catch_unwind, ts_args_type = "options: V3Options, onDone: (id: number, code: number, message: string, body: Buffer | null) => void")]
  pub fn new(options: V3Options, on_done: Function<Done, ()>) -> Result<Self> {
    let done: DoneSink = on_done
      .build_threadsafe_function::<Finished>()
      .callee_handled::<false>()
      .weak::<true>()
      .build_callback(|ctx: ThreadsafeCallContext<Finished>| {
        let Finished { id, result } = ctx.value;
        Ok(match result {
          Ok(bytes) => FnArgs::from((id, -1, String::new(), Some(Buffer::from(bytes.to_vec())))),
          Err(e) => FnArgs::from((id, e.code, e.message, None)),
        })
      })?;
    let dial_timeout = options.dial_timeout.map(|ms| crate::millis(ms, "dialTimeout")).transpose()?;
    let tls = TlsMaterial {
      ca: options.ca.unwrap_or_default().into_iter().map(|b| b.to_vec()).collect(),
      cert: options.cert.map(|b| b.to_vec()),
      key: options.key.map(|b| b.to_vec()),
      passphrase: options.passphrase,
      pfx: None,
      reject_unauthorized: options.reject_unauthorized.unwrap_or(true),
    };
    let credentials = options.username.map(|u| (u, options.password.unwrap_or_default()));
    // tonic's lazy channels spawn their connection tasks on the current runtime.
    let engine = napi::bindgen_prelude::within_runtime_if_available(|| Engine::new(EngineOptions { hosts: options.hosts, tls, dial_timeout, credentials }))?;
    Ok(Self {
      engine: RwLock::new(Some(Arc::new(engine))),
      hub: Mutex::new(None),
      closing: CancellationToken::new(),
      done: Arc::new(done),
      in_flight: InFlight::default(),
    })
  }

  /// Starts a unary call of `path` (e.g. `/etcdserverpb.KV/Range`) with an encoded request; the
  /// answer goes to `onDone(id, …)`. `idempotent`: reads, which may be sent to another member
  /// after a failure; writes go again only when they provably never left the client. `endpoint`
  /// (`http(s)://host:port`): aim the call at that member only (a host, or any other endpoint).
  #[napi(catch_unwind)]
  pub fn unary(&self, id: u32, path: String, request: Buffer, idempotent: bool, deadline_ms: Option<f64>, endpoint: Option<String>) -> Result<()> {
    let engine = self.engine()?;
    let path: &'static str = method_path(&path).ok_or_else(|| ConfigError::new("ERR_INVALID_ARG_VALUE", format!("unknown etcd method {path:?}")))?;
    let target = match endpoint {
      Some(e) => Some(napi::bindgen_prelude::within_runtime_if_available(|| engine.member_for(&e))?),
      None => None,
    };
    let cancel = self.in_flight.register(id);
    let sink = Arc::clone(&self.done);
    let delivery = DeliverOnce::new(
      id,
      self.in_flight.clone(),
      move |result| {
        let _ = sink.call(Finished { id, result }, ThreadsafeFunctionCallMode::NonBlocking);
      },
      || Err(CallError { code: 13, message: "the request task ended unexpectedly".into() }),
    );
    let body = Bytes::from(request.to_vec());
    let deadline = deadline_ms.filter(|d| d.is_finite() && *d > 0.0).map(|d| Duration::from_millis(d.ceil() as u64));
    napi::bindgen_prelude::spawn(async move {
      let call = async {
        match &target {
          Some(member) => engine.unary_on(member, path, body, &cancel).await,
          None => engine.unary(path, body, idempotent, &cancel).await,
        }
      };
      let result = match deadline {
        Some(d) => match tokio::time::timeout(d, call).await {
          Ok(r) => r,
          Err(_) => Err(CallError { code: 4, message: "context deadline exceeded".into() }),
        },
        None => call.await,
      };
      delivery.deliver(result);
    });
    Ok(())
  }

  /// Starts a watcher from an encoded WatchCreateRequest. `onSignal(kind, code, message, body)`:
  /// kind 0 connecting, 1 response (`body` = encoded WatchResponse), 2 disconnected (will
  /// reconnect), 3 ended. The loop waits for each callback to return before going on.
  #[napi(catch_unwind, ts_args_type = "createRequest: Buffer, onSignal: (kind: number, code: number, message: string, body: Buffer | null) => void")]
  pub fn watch(&self, create_request: Buffer, on_signal: Function<SignalArgs, ()>) -> Result<V3WatchHandle> {
    let engine = self.engine()?;
    let create = <WatchCreateRequest as prost::Message>::decode(create_request.as_ref())
      .map_err(|e| ConfigError::new("ERR_INVALID_ARG_VALUE", format!("undecodable WatchCreateRequest: {e}")))?;
    let sink: SignalSink = on_signal
      .build_threadsafe_function::<WatchSignal>()
      .callee_handled::<false>()
      .weak::<true>()
      .build_callback(|ctx: ThreadsafeCallContext<WatchSignal>| {
        Ok(match ctx.value {
          WatchSignal::Connecting => FnArgs::from((0u32, -1, String::new(), None)),
          WatchSignal::Response(b) => FnArgs::from((1u32, -1, String::new(), Some(Buffer::from(b.to_vec())))),
          WatchSignal::Disconnected(code, msg) => FnArgs::from((2u32, code, msg, None)),
          WatchSignal::Ended(code, msg) => FnArgs::from((3u32, code, msg, None)),
        })
      })?;
    let cancel = self.closing.child_token();
    napi::bindgen_prelude::spawn(watch::run(engine, create, cancel.clone(), JsSink(sink)));
    Ok(V3WatchHandle { cancel })
  }

  /// Starts a server-streaming call of `path` (`/etcdserverpb.Maintenance/Snapshot`,
  /// `/v3electionpb.Election/Observe`) with an encoded request, on `endpoint` if given.
  /// `onSignal(kind, code, message, body)`: kind 0 message (`body` = encoded response), 1 ended
  /// (OK), 2 failed (`code`, `message`). A message is read from etcd only after JS granted a credit
  /// for it with `handle.request(n)`; `handle.cancel()` (or `close()`) ends the call at once.
  #[napi(catch_unwind, ts_args_type = "path: string, request: Buffer, endpoint: string | undefined | null, onSignal: (kind: number, code: number, message: string, body: Buffer | null) => void")]
  pub fn server_stream(&self, path: String, request: Buffer, endpoint: Option<String>, on_signal: Function<SignalArgs, ()>) -> Result<V3StreamHandle> {
    let engine = self.engine()?;
    let path: &'static str = stream_path(&path).ok_or_else(|| ConfigError::new("ERR_INVALID_ARG_VALUE", format!("not a server-streaming etcd method: {path:?}")))?;
    let target = match endpoint {
      Some(e) => Some(napi::bindgen_prelude::within_runtime_if_available(|| engine.member_for(&e))?),
      None => None,
    };
    let sink: StreamSink = on_signal
      .build_threadsafe_function::<StreamSignal>()
      .callee_handled::<false>()
      .weak::<true>()
      .build_callback(|ctx: ThreadsafeCallContext<StreamSignal>| {
        Ok(match ctx.value {
          StreamSignal::Message(b) => FnArgs::from((0u32, -1, String::new(), Some(Buffer::from(b.to_vec())))),
          StreamSignal::End => FnArgs::from((1u32, 0, String::new(), None)),
          StreamSignal::Failed(code, msg) => FnArgs::from((2u32, code, msg, None)),
        })
      })?;
    let cancel = self.closing.child_token();
    let credit = Arc::new(Semaphore::new(0));
    let body = Bytes::from(request.to_vec());
    napi::bindgen_prelude::spawn(stream::run(engine, target, path, body, Arc::clone(&credit), cancel.clone(), move |signal| {
      let _ = sink.call(signal, ThreadsafeFunctionCallMode::NonBlocking);
    }));
    Ok(V3StreamHandle { cancel, credit })
  }

  /// Keeps lease `id` (decimal string) alive on the client's shared stream. `onSignal(kind, value,
  /// message, body)`: kind 0 renewed (`value` = new TTL, `body` = encoded LeaseKeepAliveResponse),
  /// 1 a refresh failed (`value` = gRPC code), 2 lost.
  #[napi(catch_unwind, ts_args_type = "id: string, ttl: number, onSignal: (kind: number, value: number, message: string, body: Buffer | null) => void")]
  pub fn keep_alive(&self, id: String, ttl: f64, on_signal: Function<LeaseArgs, ()>) -> Result<V3LeaseHandle> {
    let engine = self.engine()?;
    let lease: i64 = id.trim().parse().map_err(|_| ConfigError::new("ERR_INVALID_ARG_VALUE", format!("invalid lease id {id:?}")))?;
    let sink: LeaseSink = on_signal
      .build_threadsafe_function::<LeaseSignal>()
      .callee_handled::<false>()
      .weak::<true>()
      .build_callback(|ctx: ThreadsafeCallContext<LeaseSignal>| {
        Ok(match ctx.value {
          LeaseSignal::Succeeded(ttl, raw) => FnArgs::from((0u32, ttl as f64, String::new(), Some(Buffer::from(raw.to_vec())))),
          LeaseSignal::Failed(code, msg) => FnArgs::from((1u32, code as f64, msg, None)),
          LeaseSignal::Lost(msg) => FnArgs::from((2u32, 0.0, msg, None)),
        })
      })?;
    let hub = {
      let mut slot = lock(&self.hub);
      Arc::clone(slot.get_or_insert_with(|| KeepAliveHub::new(engine, self.closing.child_token())))
    };
    let ttl = if ttl.is_finite() && ttl >= 1.0 { ttl as i64 } else { 1 };
    hub.add(lease, ttl, Box::new(move |signal| {
      let _ = sink.call(signal, ThreadsafeFunctionCallMode::NonBlocking);
    }));
    Ok(V3LeaseHandle { hub, lease })
  }

  /// Cancels call `id` (its answer arrives as a cancelled call). Unknown ids are ignored.
  #[napi]
  pub fn cancel(&self, id: u32) {
    self.in_flight.cancel(id);
  }

  /// Cancels every call in flight, stops watchers and keep-alives, closes the channels. Idempotent.
  #[napi]
  pub fn close(&self) {
    self.closing.cancel();
    lock(&self.hub).take();
    self.in_flight.cancel_all();
    self.engine.write().unwrap_or_else(|e| e.into_inner()).take();
  }

  fn engine(&self) -> Result<Arc<Engine>> {
    self
      .engine
      .read()
      .unwrap_or_else(|e| e.into_inner())
      .clone()
      .ok_or_else(|| ConfigError::new("ERR_CLIENT_CLOSED", "this etcd client was closed").into())
  }
}

type SignalArgs = FnArgs<(u32, i32, String, Option<Buffer>)>;
type SignalSink = ThreadsafeFunction<WatchSignal, (), SignalArgs, napi::Status, false, true>;

struct JsSink(SignalSink);

impl watch::Sink for JsSink {
  async fn deliver(&self, signal: WatchSignal) -> bool {
    self.0.call_async_catch(signal).await.is_ok()
  }
}

type LeaseArgs = FnArgs<(u32, f64, String, Option<Buffer>)>;
type LeaseSink = ThreadsafeFunction<LeaseSignal, (), LeaseArgs, napi::Status, false, true>;

/// A lease kept alive by the client's hub; `stop()` (or garbage collection) stops refreshing it.
#[napi]
pub struct V3LeaseHandle {
  hub: Arc<KeepAliveHub>,
  lease: i64,
}

#[napi]
impl V3LeaseHandle {
  #[napi]
  pub fn stop(&self) {
    self.hub.remove(self.lease);
  }
}

impl Drop for V3LeaseHandle {
  fn drop(&mut self) {
    self.hub.remove(self.lease);
  }
}

type StreamSink = ThreadsafeFunction<StreamSignal, (), SignalArgs, napi::Status, false, true>;

/// Most credits JS may hold out at once (a bound on messages read ahead of the consumer).
const MAX_STREAM_CREDIT: usize = 1024;

/// A running server-streaming call; `cancel()` (or garbage collection) ends it.
#[napi]
pub struct V3StreamHandle {
  cancel: CancellationToken,
  credit: Arc<Semaphore>,
}

#[napi]
impl V3StreamHandle {
  /// JS is ready for `n` more messages.
  #[napi]
  pub fn request(&self, n: u32) {
    let room = MAX_STREAM_CREDIT.saturating_sub(self.credit.available_permits());
    self.credit.add_permits((n as usize).min(room));
  }

  #[napi]
  pub fn cancel(&self) {
    self.cancel.cancel();
  }
}

impl Drop for V3StreamHandle {
  fn drop(&mut self) {
    self.cancel.cancel();
  }
}

/// A running v3 watcher; `cancel()` (or garbage collection) ends its stream.
#[napi]
pub struct V3WatchHandle {
  cancel: CancellationToken,
}

#[napi]
impl V3WatchHandle {
  #[napi]
  pub fn cancel(&self) {
    self.cancel.cancel();
  }
}

impl Drop for V3WatchHandle {
  fn drop(&mut self) {
    self.cancel.cancel();
  }
}

/// The server-streaming methods, as `'static` paths.
fn stream_path(path: &str) -> Option<&'static str> {
  const PATHS: &[&str] = &["/etcdserverpb.Maintenance/Snapshot", "/v3electionpb.Election/Observe"];
  PATHS.iter().copied().find(|p| *p == path)
}

/// gRPC paths are static strings in tonic; map the ones we call onto `'static` copies.
fn method_path(path: &str) -> Option<&'static str> {
  const PATHS: &[&str] = &[
    "/etcdserverpb.KV/Range",
    "/etcdserverpb.KV/Put",
    "/etcdserverpb.KV/DeleteRange",
    "/etcdserverpb.KV/Txn",
    "/etcdserverpb.KV/Compact",
    "/etcdserverpb.Lease/LeaseGrant",
    "/etcdserverpb.Lease/LeaseRevoke",
    "/etcdserverpb.Lease/LeaseTimeToLive",
    "/etcdserverpb.Lease/LeaseLeases",
    // keepaliveOnce: one request on the bidirectional method, answered once
    "/etcdserverpb.Lease/LeaseKeepAlive",
    "/etcdserverpb.Cluster/MemberAdd",
    "/etcdserverpb.Cluster/MemberRemove",
    "/etcdserverpb.Cluster/MemberUpdate",
    "/etcdserverpb.Cluster/MemberList",
    "/etcdserverpb.Cluster/MemberPromote",
    "/etcdserverpb.Maintenance/Alarm",
    "/etcdserverpb.Maintenance/Status",
    "/etcdserverpb.Maintenance/Defragment",
    "/etcdserverpb.Maintenance/Hash",
    "/etcdserverpb.Maintenance/HashKV",
    "/etcdserverpb.Maintenance/MoveLeader",
    "/etcdserverpb.Maintenance/Downgrade",
    "/etcdserverpb.Auth/AuthEnable",
    "/etcdserverpb.Auth/AuthDisable",
    "/etcdserverpb.Auth/AuthStatus",
    "/etcdserverpb.Auth/Authenticate",
    "/etcdserverpb.Auth/UserAdd",
    "/etcdserverpb.Auth/UserGet",
    "/etcdserverpb.Auth/UserList",
    "/etcdserverpb.Auth/UserDelete",
    "/etcdserverpb.Auth/UserChangePassword",
    "/etcdserverpb.Auth/UserGrantRole",
    "/etcdserverpb.Auth/UserRevokeRole",
    "/etcdserverpb.Auth/RoleAdd",
    "/etcdserverpb.Auth/RoleGet",
    "/etcdserverpb.Auth/RoleList",
    "/etcdserverpb.Auth/RoleDelete",
    "/etcdserverpb.Auth/RoleGrantPermission",
    "/etcdserverpb.Auth/RoleRevokePermission",
    "/v3lockpb.Lock/Lock",
    "/v3lockpb.Lock/Unlock",
    "/v3electionpb.Election/Campaign",
    "/v3electionpb.Election/Proclaim",
    "/v3electionpb.Election/Leader",
    "/v3electionpb.Election/Resign",
  ];
  PATHS.iter().copied().find(|p| *p == path)
}
