//! The few libuv functions the JS-thread engine calls, looked up at run time in the process
//! that loaded us (node exports libuv). Looking them up rather than linking them means a host
//! without libuv (or without these symbols) keeps working: the engine is just not used there.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

pub const UV_ASYNC: c_int = 1;
pub const UV_POLL: c_int = 8;
pub const UV_PREPARE: c_int = 9;
pub const UV_READABLE: c_int = 1;
pub const UV_WRITABLE: c_int = 2;
pub const UV_DISCONNECT: c_int = 4;

/// Room reserved for one handle; `handle_fits` checks the running libuv's sizes against it.
pub const HANDLE_BYTES: usize = 256;

/// The close, async and prepare callbacks: they get the handle.
pub type HandleCb = extern "C" fn(*mut c_void);
pub type PollCb = extern "C" fn(*mut c_void, c_int, c_int);

pub struct Uv {
  pub handle_size: unsafe extern "C" fn(c_int) -> usize,
  pub async_init: unsafe extern "C" fn(*mut c_void, *mut c_void, HandleCb) -> c_int,
  pub async_send: unsafe extern "C" fn(*mut c_void) -> c_int,
  pub close: unsafe extern "C" fn(*mut c_void, HandleCb),
  pub unref: unsafe extern "C" fn(*mut c_void),
  pub poll_init: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int,
  pub poll_start: unsafe extern "C" fn(*mut c_void, c_int, PollCb) -> c_int,
  pub poll_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
  pub prepare_init: unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int,
  pub prepare_start: unsafe extern "C" fn(*mut c_void, HandleCb) -> c_int,
}

/// The process's libuv, or None when any function is missing or a handle needs more room than
/// we reserve.
pub fn uv() -> Option<&'static Uv> {
  static UV: OnceLock<Option<Uv>> = OnceLock::new();
  UV.get_or_init(|| unsafe { lookup() }).as_ref()
}

/// # Safety
/// `F` must be the C signature of the function named `name` (a function pointer type).
unsafe fn symbol<F: Copy>(name: &CStr) -> Option<F> {
  const { assert!(std::mem::size_of::<F>() == std::mem::size_of::<*mut c_void>()) };
  let p = libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr());
  (!p.is_null()).then(|| std::mem::transmute_copy::<*mut c_void, F>(&p))
}

unsafe fn lookup() -> Option<Uv> {
  // SAFETY: each symbol is libuv's function of that name, whose C signature is the field's.
  let uv = Uv {
    handle_size: symbol(c"uv_handle_size")?,
    async_init: symbol(c"uv_async_init")?,
    async_send: symbol(c"uv_async_send")?,
    close: symbol(c"uv_close")?,
    unref: symbol(c"uv_unref")?,
    poll_init: symbol(c"uv_poll_init")?,
    poll_start: symbol(c"uv_poll_start")?,
    poll_stop: symbol(c"uv_poll_stop")?,
    prepare_init: symbol(c"uv_prepare_init")?,
    prepare_start: symbol(c"uv_prepare_start")?,
  };
  let fits = [UV_ASYNC, UV_POLL, UV_PREPARE].iter().all(|&t| (uv.handle_size)(t) <= HANDLE_BYTES);
  fits.then_some(uv)
}

/// Zeroed room for one handle, 16-aligned; freed with `free_handle` (in its close callback).
pub fn alloc_handle() -> Option<*mut c_void> {
  let p = unsafe { std::alloc::alloc_zeroed(layout()) } as *mut c_void;
  (!p.is_null()).then_some(p)
}

/// # Safety
/// `h` came from `alloc_handle` and libuv is done with it.
pub unsafe fn free_handle(h: *mut c_void) {
  std::alloc::dealloc(h as *mut u8, layout());
}

#[repr(C, align(16))]
struct HandleRoom([u8; HANDLE_BYTES]);

fn layout() -> std::alloc::Layout {
  std::alloc::Layout::new::<HandleRoom>()
}

/// The close callback of handles that own nothing but their room.
pub extern "C" fn free_on_close(h: *mut c_void) {
  unsafe { free_handle(h) };
}

/// Every uv handle starts with `void *data`: our pointer back to the owner.
/// # Safety
/// `h` is a live handle from `alloc_handle`.
pub unsafe fn set_data(h: *mut c_void, data: *const c_void) {
  *(h as *mut *const c_void) = data;
}

/// # Safety
/// As `set_data`.
pub unsafe fn data(h: *mut c_void) -> *const c_void {
  *(h as *mut *const c_void)
}
