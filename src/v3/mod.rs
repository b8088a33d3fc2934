//! etcd v3 client: gRPC over HTTP/2 (tonic).
//!
//! The protobuf messages in [`proto`] are written by hand as prost structs, straight from the wire
//! format of etcd 3.5's API (field numbers, scalar types, enums). We do this on purpose:
//! - no `protoc` (nor `tonic-build`/`prost-build`) at build time, so building needs only cargo;
//! - no third-party `.proto` files vendored into this repository;
//! - only what a client sends or receives, named the way we want to expose it.
//!
//! [`rpc`] calls each gRPC method by its path with tonic's generic client and the prost codec,
//! so there is no generated service code either.
//!
//! [`client`] is the engine (channels, retries, auth tokens); [`binding`] its napi surface.
//!
//! The engine moves encoded messages (the JS facade encodes and decodes them), so it uses only the
//! watch, keep-alive and authenticate types natively; the rest of [`proto`] and the typed calls in
//! [`rpc`] are exercised by their own live test against etcd and are otherwise unused.
#![allow(dead_code)]

pub mod binding;
pub mod client;
pub mod lease;
pub mod proto;
pub mod rpc;
pub mod stream;
pub mod watch;
