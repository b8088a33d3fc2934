//! v2 async calls driven on the JS thread by its own libuv loop: the request is written from
//! `submit` itself, the response is read when libuv's poll sees it, and the result reaches JS from
//! that same callback. No other thread wakes up. Handing calls to a tokio worker and back through
//! a threadsafe function (the fallback where libuv is not reachable) costs two thread wake-ups a
//! call: measured, about a third of the client's CPU at concurrency 1 and a fifth at 64.
//!
//! The engine's futures (calls, and hyper's connection tasks through the transport's executor)
//! live in one `FuturesUnordered` polled inside the shared runtime's context, so connecting,
//! DNS and timers still use its reactor and timer wheel (their wakes reach us through one
//! `uv_async_t`); connected sockets move onto `uv_poll` handles (`socket::UvStream`).
//! Results go to the JS dispatcher with `napi_make_callback` (the threadsafe function's
//! arguments), never synchronously inside `submit`/`cancel`/`close`. Handles are unref'd: the
//! facade's alive timer keeps the process up while calls are pending.

mod socket;
mod uv;

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use napi::bindgen_prelude::ToNapiValue;
use napi::sys;
use tokio::runtime::Handle;

pub use socket::UvStream;

use crate::calls::{lock, InFlight};
use crate::transport::{SpawnFn, Transport};
use crate::RawResult;

type LocalTask = Pin<Box<dyn Future<Output = Option<(u32, RawResult)>>>>;
type SendTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where the transport's connector puts sockets it connects: this engine's loop.
#[derive(Clone, Copy)]
pub struct LocalSockets {
  uv_loop: usize,
  engine: usize,
  /// The engine's JS thread (`thread_marker()` there).
  thread: usize,
}

impl LocalSockets {
  fn on_own_thread(&self) -> bool {
    thread_marker() == self.thread
  }
}

/// Libuv's readiness counts as current for this long after the loop last polled; past it, sockets
/// waiting to read are asked directly before more work is polled (`socket::refresh`).
const FRESH_FOR: Duration = Duration::from_millis(1);
/// Results delivered in one go before the loop gets a turn (callbacks that keep submitting calls
/// which finish without I/O would otherwise starve it).
const MAX_BATCH: usize = 1024;

thread_local! {
  /// Its address tells threads apart.
  static THREAD_MARKER: u8 = const { 0 };
  /// The waker whose tasks this thread is polling (or about to poll) right now: its wakes need no
  /// syscall, the loop that follows picks them up.
  static POLLING: Cell<*const FlagWaker> = const { Cell::new(ptr::null()) };
}

fn thread_marker() -> usize {
  THREAD_MARKER.with(|m| m as *const u8 as usize)
}

/// The waker of our task set: records "something is ready" and, unless this thread is about to
/// poll it, pokes the JS thread through the async handle (libuv coalesces repeated sends).
struct FlagWaker {
  woken: AtomicBool,
  /// The uv_async_t, as an address; None once closed.
  async_handle: Mutex<Option<usize>>,
}

impl Wake for FlagWaker {
  fn wake(self: Arc<Self>) {
    self.wake_by_ref();
  }
  fn wake_by_ref(self: &Arc<Self>) {
    self.woken.store(true, Ordering::Release);
    if POLLING.with(|p| p.get()) != Arc::as_ptr(self) {
      if let (Some(h), Some(uv)) = (*lock(&self.async_handle), uv::uv()) {
        unsafe { (uv.async_send)(h as *mut c_void) };
      }
    }
  }
}

pub(crate) struct Inner {
  uv: &'static uv::Uv,
  runtime: Handle,
  transport: RefCell<Option<Arc<Transport>>>,
  tasks: RefCell<FuturesUnordered<LocalTask>>,
  incoming: RefCell<Vec<LocalTask>>,
  spawned: Arc<Mutex<Vec<SendTask>>>,
  flag: Arc<FlagWaker>,
  waker: Waker,
  ready: RefCell<Vec<(u32, RawResult)>>,
  /// The sockets of this engine's connections (they register and unregister themselves).
  sockets: RefCell<Vec<*const socket::State>>,
  /// When libuv last polled, at the latest (its prepare phase, or our own refresh); None: not yet.
  fresh_at: Cell<Option<Instant>>,
  driving: Cell<bool>,
  closed: Cell<bool>,
  torn_down: Cell<bool>,
  hook_registered: Cell<bool>,
  env: sys::napi_env,
  on_complete: sys::napi_ref,
  async_ctx: sys::napi_async_context,
  async_: *mut c_void,
  /// A uv_prepare_t: runs right before each poll, so it dates libuv's readiness news.
  prepare: *mut c_void,
}

/// Owned by the NativeClient (JS thread only).
pub struct Engine {
  inner: Rc<Inner>,
}

// SAFETY: napi classes live on the JS thread that created them; the engine is only touched there.
unsafe impl Send for Engine {}
unsafe impl Sync for Engine {}

impl Engine {
  /// None where the process has no usable libuv (the client then uses the shared runtime only).
  ///
  /// # Safety
  /// `env` and `on_complete` must be the current call's.
  pub unsafe fn new(env: sys::napi_env, on_complete: sys::napi_value, base: &Transport) -> Option<Self> {
    let uv = uv::uv()?;
    let mut lp: *mut sys::uv_loop_s = ptr::null_mut();
    if sys::napi_get_uv_event_loop(env, &mut lp) != sys::Status::napi_ok || lp.is_null() {
      return None;
    }
    // napi-rs's current runtime (the one `init` supplied, or its replacement after an env restart
    // such as a second worker thread): a handle stored at module init would go stale.
    let Ok(runtime) = catch_unwind(|| napi::bindgen_prelude::within_runtime_if_available(Handle::current)) else { return None };
    let async_ = uv::alloc_handle()?;
    if (uv.async_init)(lp as *mut c_void, async_, on_async) != 0 {
      uv::free_handle(async_);
      return None;
    }
    (uv.unref)(async_);
    let Some(prepare) = uv::alloc_handle() else {
      (uv.close)(async_, uv::free_on_close);
      return None;
    };
    if (uv.prepare_init)(lp as *mut c_void, prepare) != 0 {
      uv::free_handle(prepare);
      (uv.close)(async_, uv::free_on_close);
      return None;
    }
    (uv.unref)(prepare);

    let spawned: Arc<Mutex<Vec<SendTask>>> = Arc::default();
    let inbox = Arc::clone(&spawned);
    let spawn: SpawnFn = Arc::new(move |f| lock(&inbox).push(f));
    let mut on_complete_ref = ptr::null_mut();
    sys::napi_create_reference(env, on_complete, 1, &mut on_complete_ref);
    let mut name = ptr::null_mut();
    sys::napi_create_string_utf8(env, c"etcd-napi".as_ptr(), 9, &mut name);
    let mut async_ctx = ptr::null_mut();
    sys::napi_async_init(env, ptr::null_mut(), name, &mut async_ctx);

    let flag = Arc::new(FlagWaker { woken: AtomicBool::new(false), async_handle: Mutex::new(Some(async_ as usize)) });
    let waker = Waker::from(Arc::clone(&flag));
    let inner = Rc::new(Inner {
      uv,
      runtime,
      transport: RefCell::new(None),
      tasks: RefCell::new(FuturesUnordered::new()),
      incoming: RefCell::default(),
      spawned,
      flag,
      waker,
      ready: RefCell::default(),
      sockets: RefCell::default(),
      fresh_at: Cell::new(None),
      driving: Cell::new(false),
      closed: Cell::new(false),
      torn_down: Cell::new(false),
      hook_registered: Cell::new(false),
      env,
      on_complete: on_complete_ref,
      async_ctx,
      async_,
      prepare,
    });
    // The async handle's data holds one strong count of Inner until its close callback, so
    // sockets and wakes never outlive what they point at.
    uv::set_data(async_, Rc::into_raw(Rc::clone(&inner)) as *const c_void);
    // No count: both handles close together, and Inner outlives the async one.
    uv::set_data(prepare, Rc::as_ptr(&inner) as *const c_void);
    (uv.prepare_start)(prepare, on_prepare);
    // At env teardown (process exit, worker end) no wake may touch the loop any more.
    if sys::napi_add_env_cleanup_hook(env, Some(on_env_cleanup), Rc::as_ptr(&inner) as *mut c_void) == sys::Status::napi_ok {
      inner.hook_registered.set(true);
    }
    let engine = Self { inner };
    let sockets = LocalSockets { uv_loop: lp as usize, engine: Rc::as_ptr(&engine.inner) as usize, thread: thread_marker() };
    *engine.inner.transport.borrow_mut() = Some(Arc::new(base.on_js_thread(spawn, sockets)));
    Some(engine)
  }

  pub fn transport(&self) -> Option<Arc<Transport>> {
    self.inner.transport.borrow().clone()
  }

  pub fn set_transport(&self, t: Transport) {
    *self.inner.transport.borrow_mut() = Some(Arc::new(t));
  }

  /// Queues a call future and polls it right away, so the request goes out from this thread
  /// (results are never delivered synchronously). When it ends, even by unwinding, call `id`
  /// leaves `in_flight`.
  pub fn submit(&self, id: u32, in_flight: InFlight, fut: impl Future<Output = RawResult> + 'static) {
    let task: LocalTask = Box::pin(AssertUnwindSafe(fut).catch_unwind().map(move |r| {
      in_flight.finish(id);
      Some((id, r.unwrap_or_else(|_| crate::unwound_result())))
    }));
    self.inner.incoming.borrow_mut().push(task);
    drive(&self.inner, false);
  }

  /// After a cancellation token fired: let the futures see it (and drop their sockets) now.
  pub fn poke(&self) {
    drive(&self.inner, false);
  }

  /// Cancelled calls complete (delivered from the async handle), then the handle closes.
  pub fn close(&self, in_flight: &InFlight) {
    let inner = &self.inner;
    if inner.closed.replace(true) {
      return;
    }
    in_flight.cancel_all();
    inner.transport.borrow_mut().take();
    if inner.driving.get() {
      // From a result callback: the loop delivering it polls the cancelled calls next (they
      // complete as cancelled), and `run` drops the rest when it returns.
      inner.flag.woken.store(true, Ordering::Release);
      return;
    }
    drive(inner, false);
    drop_tasks(inner);
    if !inner.torn_down.get() {
      unsafe { (inner.uv.async_send)(inner.async_) };
    }
  }
}

impl Drop for Engine {
  fn drop(&mut self) {
    let inner = &self.inner;
    inner.closed.set(true);
    if !inner.driving.get() {
      // Garbage collected without close(): the sockets close now rather than with the async
      // handle (a loop that is ending may not get there).
      shut_down(inner, true);
    }
  }
}

fn drop_tasks(inner: &Inner) {
  let _g = inner.runtime.enter();
  let tasks = std::mem::take(&mut *inner.tasks.borrow_mut());
  drop(tasks);
  inner.incoming.borrow_mut().clear();
  let spawned = std::mem::take(&mut *lock(&inner.spawned));
  drop(spawned);
}

/// Nothing can be delivered any more: results, calls and connections go, then the handles.
fn shut_down(inner: &Inner, env_alive: bool) {
  inner.ready.borrow_mut().clear();
  inner.transport.borrow_mut().take();
  drop_tasks(inner);
  teardown(inner, env_alive);
}

/// Closes the async handle. `env_alive`: not called from the env's cleanup hook, so the JS
/// references can be released too.
fn teardown(inner: &Inner, env_alive: bool) {
  *lock(&inner.flag.async_handle) = None;
  if !inner.torn_down.replace(true) {
    unsafe {
      if inner.hook_registered.replace(false) {
        sys::napi_remove_env_cleanup_hook(inner.env, Some(on_env_cleanup), inner as *const Inner as *mut c_void);
      }
      if env_alive {
        sys::napi_delete_reference(inner.env, inner.on_complete);
        sys::napi_async_destroy(inner.env, inner.async_ctx);
      }
      (inner.uv.close)(inner.prepare, uv::free_on_close);
      (inner.uv.close)(inner.async_, on_closed);
    }
  }
}

extern "C" fn on_prepare(h: *mut c_void) {
  let inner = unsafe { &*(uv::data(h) as *const Inner) };
  inner.fresh_at.set(Some(Instant::now()));
}

unsafe extern "C" fn on_env_cleanup(arg: *mut c_void) {
  let _ = catch_unwind(|| {
    let inner = &*(arg as *const Inner);
    inner.hook_registered.set(false);
    inner.closed.set(true);
    shut_down(inner, false);
  });
}

extern "C" fn on_closed(h: *mut c_void) {
  let _ = catch_unwind(|| unsafe {
    let inner = Rc::from_raw(uv::data(h) as *const Inner);
    uv::free_handle(h);
    // Last count: the remaining tasks (and their sockets) go now.
    drop_tasks(&inner);
    drop(inner);
  });
}

extern "C" fn on_async(h: *mut c_void) {
  let _ = catch_unwind(|| {
    run(unsafe { &*(uv::data(h) as *const Inner) });
  });
}

/// From a libuv callback: poll, deliver, and close the async handle once the client is closed.
fn run(inner: &Inner) {
  if inner.torn_down.get() {
    // Closing: the remaining tasks go with the handle, and JS is not called any more.
    return;
  }
  drive(inner, true);
  if inner.closed.get() && !inner.driving.get() {
    drop_tasks(inner);
    teardown(inner, true);
  }
}

/// From a socket's poll callback: wake its readers/writers without a syscall, then run them.
fn wake_and_drive(engine: *const Inner, wakers: [Option<Waker>; 2]) {
  // SAFETY: sockets live in the engine's tasks, which the engine (kept by its async handle)
  // outlives.
  let inner = unsafe { &*engine };
  as_poller(inner, || wakers.into_iter().flatten().for_each(Waker::wake));
  run(inner);
}

/// Polls until nothing is ready, delivering results when `may_call_js`. Re-entrant calls (submit
/// from a callback) only queue: the outer loop picks their work up.
fn drive(inner: &Inner, may_call_js: bool) {
  if inner.driving.replace(true) {
    return;
  }
  let mut delivered = 0;
  let mut more = false;
  loop {
    poll_tasks(inner);
    if may_call_js && !inner.ready.borrow().is_empty() {
      let batch = std::mem::take(&mut *inner.ready.borrow_mut());
      delivered += batch.len();
      for (id, result) in batch {
        unsafe { call_js(inner, id, result) };
      }
      if inner.flag.woken.load(Ordering::Acquire) || !inner.incoming.borrow().is_empty() {
        if delivered < MAX_BATCH {
          continue;
        }
        // Give the loop a turn; the async handle brings us back.
        more = true;
      }
    }
    break;
  }
  inner.driving.set(false);
  if (more || (!may_call_js && !inner.ready.borrow().is_empty())) && !inner.torn_down.get() {
    unsafe { (inner.uv.async_send)(inner.async_) };
  }
}

/// Runs `f` as this engine's poller: wakes of its tasks inside `f` only set the flag.
fn as_poller<R>(inner: &Inner, f: impl FnOnce() -> R) -> R {
  let previous = POLLING.with(|p| p.replace(Arc::as_ptr(&inner.flag)));
  let r = f();
  POLLING.with(|p| p.set(previous));
  r
}

fn poll_tasks(inner: &Inner) {
  let _g = inner.runtime.enter();
  as_poller(inner, || poll_ready_tasks(inner));
}

fn poll_ready_tasks(inner: &Inner) {
  let mut tasks = inner.tasks.borrow_mut();
  let mut cx = Context::from_waker(&inner.waker);
  loop {
    inner.flag.woken.store(false, Ordering::Release);
    if inner.fresh_at.get().is_none_or(|t| t.elapsed() > FRESH_FOR) {
      // JS ran for a while since libuv last polled: readers woken here are polled before the
      // new calls, so a connection the server closed meanwhile leaves the pool first.
      socket::refresh(&inner.sockets.borrow());
      inner.fresh_at.set(Some(Instant::now()));
    }
    tasks.extend(inner.incoming.borrow_mut().drain(..));
    let spawned = std::mem::take(&mut *lock(&inner.spawned));
    for f in spawned {
      tasks.push(Box::pin(AssertUnwindSafe(f).catch_unwind().map(|_| None)));
    }
    loop {
      match tasks.poll_next_unpin(&mut cx) {
        Poll::Ready(Some(Some(done))) => inner.ready.borrow_mut().push(done),
        Poll::Ready(Some(None)) => {}
        Poll::Ready(None) | Poll::Pending => break,
      }
    }
    if !inner.flag.woken.load(Ordering::Acquire) && inner.incoming.borrow().is_empty() && lock(&inner.spawned).is_empty() {
      break;
    }
  }
}

/// Same arguments as the threadsafe function's: `(id, status, headers, body, extra|null)`.
unsafe fn call_js(inner: &Inner, id: u32, result: RawResult) {
  let env = inner.env;
  let mut scope = ptr::null_mut();
  sys::napi_open_handle_scope(env, &mut scope);
  let args = match js_args(env, id, result) {
    Some(args) => Some(args),
    None => {
      // A value JS cannot hold (a body past V8's string limit): the call fails instead.
      let mut exc = ptr::null_mut();
      sys::napi_get_and_clear_last_exception(env, &mut exc);
      js_args(env, id, crate::internal_failure("the response is too large to hand to JavaScript"))
    }
  };
  if let Some(args) = args {
    let mut func = ptr::null_mut();
    sys::napi_get_reference_value(env, inner.on_complete, &mut func);
    let mut recv = ptr::null_mut();
    sys::napi_get_global(env, &mut recv);
    let mut ret = ptr::null_mut();
    let status = sys::napi_make_callback(env, inner.async_ctx, recv, func, 5, args.as_ptr(), &mut ret);
    if status != sys::Status::napi_ok {
      // A throwing callback: the same as an uncaught exception from the threadsafe function.
      let mut exc = ptr::null_mut();
      if sys::napi_get_and_clear_last_exception(env, &mut exc) == sys::Status::napi_ok && !exc.is_null() {
        sys::napi_fatal_exception(env, exc);
      }
    }
  }
  sys::napi_close_handle_scope(env, scope);
}

/// The callback's arguments, or None when a value could not be created.
unsafe fn js_args(env: sys::napi_env, id: u32, result: RawResult) -> Option<[sys::napi_value; 5]> {
  let mut args = [ptr::null_mut(); 5];
  sys::napi_create_uint32(env, id, &mut args[0]);
  sys::napi_create_uint32(env, result.status, &mut args[1]);
  if crate::is_plain(&result) {
    args[2] = String::to_napi_value(env, result.headers).ok()?;
    args[3] = String::to_napi_value(env, result.body).ok()?;
    sys::napi_get_null(env, &mut args[4]);
  } else {
    args[2] = String::to_napi_value(env, String::new()).ok()?;
    args[3] = args[2];
    args[4] = RawResult::to_napi_value(env, result).ok()?;
  }
  args.iter().all(|a| !a.is_null()).then_some(args)
}
