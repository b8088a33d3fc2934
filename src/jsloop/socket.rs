//! A TCP stream whose readiness comes from a `uv_poll_t` on the JS thread's loop, so reading and
//! writing a pooled connection involves no other thread: the request is written from the call
//! that submits it, and the response is read in the loop iteration that sees it arrive.
//!
//! The socket is connected by tokio (DNS, happy eyeballs, socket options, connect timeout) and
//! then handed over here. Only the engine's JS thread creates, polls and drops these streams.

use std::ffi::{c_int, c_void};
use std::io::{self, Write};
use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::uv::{self, Uv, UV_DISCONNECT, UV_READABLE, UV_WRITABLE};
use super::{Inner, LocalSockets};

pub struct UvStream {
  /// Boxed: the poll handle points at it.
  state: Box<State>,
}

// SAFETY: created, polled and dropped only on the engine's JS thread (hyper's executor bound
// asks for Send; the engine never lets these futures leave that thread).
unsafe impl Send for UvStream {}
unsafe impl Sync for UvStream {}

pub(super) struct State {
  uv: &'static Uv,
  handle: *mut c_void,
  stream: std::net::TcpStream,
  engine: *const Inner,
  /// Whether a read may find data (cleared by a short read or EAGAIN; libuv's poll is
  /// level-triggered, so data left behind is reported again).
  readable: Cell<bool>,
  /// Whether a write may go through (cleared only by EAGAIN).
  writable: Cell<bool>,
  /// The events the poll handle watches now.
  interest: Cell<c_int>,
  read_waker: Cell<Option<Waker>>,
  write_waker: Cell<Option<Waker>>,
}

impl UvStream {
  /// Moves a connected tokio stream onto the JS thread's loop.
  pub fn adopt(tcp: tokio::net::TcpStream, sockets: &LocalSockets) -> io::Result<Self> {
    if !sockets.on_own_thread() {
      // libuv is not thread-safe: the engine's futures are only ever polled on its JS thread.
      return Err(io::Error::other("a JS-thread socket was opened on another thread"));
    }
    let uv = uv::uv().ok_or_else(|| io::Error::other("libuv is not available"))?;
    let stream = tcp.into_std()?;
    let handle = uv::alloc_handle().ok_or_else(|| io::Error::other("out of memory"))?;
    let state = Box::new(State {
      uv,
      handle,
      stream,
      engine: sockets.engine as *const Inner,
      readable: Cell::new(true),
      writable: Cell::new(true),
      interest: Cell::new(0),
      read_waker: Cell::new(None),
      write_waker: Cell::new(None),
    });
    let rc = unsafe { (uv.poll_init)(sockets.uv_loop as *mut c_void, handle, state.stream.as_raw_fd()) };
    if rc != 0 {
      unsafe { uv::free_handle(handle) };
      return Err(io::Error::other(format!("uv_poll_init failed ({rc})")));
    }
    unsafe {
      uv::set_data(handle, &*state as *const State as *const c_void);
      // Pooled idle connections must not keep the process alive.
      (uv.unref)(handle);
      (*state.engine).sockets.borrow_mut().push(&*state as *const State);
    }
    Ok(Self { state })
  }
}

impl State {
  /// Adds `events` to what libuv watches; an error when libuv refuses (the waiting read or write
  /// fails with it rather than waiting for an event that cannot come).
  fn watch(&self, events: c_int) -> io::Result<()> {
    match self.set_interest(self.interest.get() | events) {
      0 => Ok(()),
      rc => Err(io::Error::other(format!("uv_poll_start failed ({rc})"))),
    }
  }

  fn set_interest(&self, want: c_int) -> c_int {
    if want == self.interest.get() {
      return 0;
    }
    let rc = unsafe {
      if want == 0 {
        (self.uv.poll_stop)(self.handle)
      } else {
        (self.uv.poll_start)(self.handle, want, on_poll)
      }
    };
    if rc == 0 {
      self.interest.set(want);
    }
    rc
  }
}

extern "C" fn on_poll(handle: *mut c_void, status: c_int, events: c_int) {
  let _ = std::panic::catch_unwind(|| unsafe {
    let state = uv::data(handle) as *const State;
    if state.is_null() {
      return;
    }
    let state = &*state;
    let engine = state.engine;
    let mut wake = [None, None];
    let mut interest = state.interest.get();
    if status < 0 {
      // An error on the socket: let both directions try, and hear of it from the syscall.
      state.readable.set(true);
      state.writable.set(true);
      wake = [state.read_waker.take(), state.write_waker.take()];
      interest = 0;
    } else {
      if events & (UV_READABLE | UV_DISCONNECT) != 0 {
        state.readable.set(true);
        wake[0] = state.read_waker.take();
        if wake[0].is_none() {
          // Nobody reads: stop watching rather than be told again on every loop iteration.
          interest &= !UV_READABLE;
        }
      }
      if events & UV_WRITABLE != 0 {
        state.writable.set(true);
        wake[1] = state.write_waker.take();
        interest &= !UV_WRITABLE;
      }
    }
    // Only ever narrows what is watched (uv_poll_stop, or a start with fewer events): nothing to
    // report if it fails, the woken side re-arms what it needs.
    state.set_interest(interest);
    // The wakes may end in this stream being dropped: nothing of `state` is touched after them.
    super::wake_and_drive(engine, wake);
  });
}

impl Drop for UvStream {
  fn drop(&mut self) {
    let s = &*self.state;
    unsafe {
      // The engine outlives its sockets (they live in its tasks).
      let mut sockets = (*s.engine).sockets.borrow_mut();
      if let Some(i) = sockets.iter().position(|&p| std::ptr::eq(p, s)) {
        sockets.swap_remove(i);
      }
      uv::set_data(s.handle, std::ptr::null());
      // Closing stops the poll; the socket itself may be closed right after (libuv's rule).
      (s.uv.close)(s.handle, uv::free_on_close);
    }
  }
}

/// Asks the kernel directly whether sockets waiting to read have something (data, EOF, an error)
/// and wakes their readers. For when libuv's last poll may be old because JS ran for a while since:
/// a pooled connection the server closed meanwhile must not be handed a request.
pub(super) fn refresh(sockets: &[*const State]) {
  let waiting: Vec<&State> = sockets.iter().map(|&p| unsafe { &*p }).filter(|s| !s.readable.get() && has_waker(&s.read_waker)).collect();
  if waiting.is_empty() {
    return;
  }
  let mut fds: Vec<libc::pollfd> = waiting.iter().map(|s| libc::pollfd { fd: s.stream.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
  let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
  if n <= 0 {
    return;
  }
  for (s, fd) in waiting.iter().zip(&fds) {
    if fd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
      s.readable.set(true);
      if let Some(w) = s.read_waker.take() {
        w.wake();
      }
    }
  }
}

fn has_waker(cell: &Cell<Option<Waker>>) -> bool {
  let w = cell.take();
  let present = w.is_some();
  cell.set(w);
  present
}

impl AsyncRead for UvStream {
  fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
    let s = &*self.state;
    loop {
      if !s.readable.get() {
        s.read_waker.set(Some(cx.waker().clone()));
        return match s.watch(UV_READABLE) {
          Ok(()) => Poll::Pending,
          Err(e) => Poll::Ready(Err(e)),
        };
      }
      // Straight into the caller's uninitialised room, as tokio's own streams do.
      let room = unsafe { buf.unfilled_mut() };
      let len = room.len();
      let n = unsafe { libc::read(s.stream.as_raw_fd(), room.as_mut_ptr() as *mut c_void, len) };
      let result = if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) };
      match result {
        Ok(n) => {
          if n > 0 && n < len {
            s.readable.set(false);
          }
          // SAFETY: the kernel wrote these n bytes.
          unsafe { buf.assume_init(n) };
          buf.advance(n);
          return Poll::Ready(Ok(()));
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => s.readable.set(false),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) => return Poll::Ready(Err(e)),
      }
    }
  }
}

impl UvStream {
  fn poll_io(&self, cx: &mut Context<'_>, mut op: impl FnMut(&std::net::TcpStream) -> io::Result<usize>) -> Poll<io::Result<usize>> {
    let s = &*self.state;
    loop {
      if !s.writable.get() {
        s.write_waker.set(Some(cx.waker().clone()));
        return match s.watch(UV_WRITABLE) {
          Ok(()) => Poll::Pending,
          Err(e) => Poll::Ready(Err(e)),
        };
      }
      match op(&s.stream) {
        Ok(n) => return Poll::Ready(Ok(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => s.writable.set(false),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) => return Poll::Ready(Err(e)),
      }
    }
  }
}

impl AsyncWrite for UvStream {
  fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    self.poll_io(cx, |mut s| s.write(buf))
  }

  fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
    self.poll_io(cx, |mut s| s.write_vectored(bufs))
  }

  fn is_write_vectored(&self) -> bool {
    true
  }

  fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    Poll::Ready(Ok(()))
  }

  fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    match self.state.stream.shutdown(std::net::Shutdown::Write) {
      Err(e) if e.kind() != io::ErrorKind::NotConnected => Poll::Ready(Err(e)),
      _ => Poll::Ready(Ok(())),
    }
  }
}
