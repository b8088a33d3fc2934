//! etcd v3 client: gRPC over HTTP/2 (tonic).
//!
//! Calls move encoded protobuf: the JS facade encodes requests and decodes answers
//! (lib/v3/messages.js), and the engine sends each one by its method path with tonic's generic
//! client and a pass-through codec, so there is no generated service code. The only messages the
//! engine builds or reads itself (watch, lease keep-alive, authenticate) are in [`proto`],
//! written by hand as prost structs from etcd 3.5's wire format: no `protoc` (nor
//! `tonic-build`/`prost-build`) at build time and no vendored `.proto` files.
//!
//! [`client`] is the engine (channels, retries, auth tokens); [`binding`] its napi surface;
//! [`watch`] and [`lease`] the watch and keep-alive loops.

pub mod binding;
pub mod client;
pub mod lease;
pub mod proto;
pub mod stream;
pub mod watch;
