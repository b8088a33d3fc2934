//! The etcd v3 messages the native engine itself builds or reads, hand-written as prost structs
//! (see the module doc of `v3`). Everything else crosses the engine as bytes encoded and decoded
//! by the JS codec (lib/v3/messages.js).
//!
//! Every field keeps its etcd field number and scalar type; Rust names are ours (snake_case
//! fields, flat enums, short names for the `oneof`s). Messages the engine only reads list only the
//! fields it reads: prost skips the others while decoding, and the raw bytes go to JS untouched.
//! A message the engine decodes and encodes again (`WatchCreateRequest`) must keep all its fields,
//! or the ones left out would be lost on the way. __test__/v3-protobuf.test.mjs checks these
//! structs against the JS schema.
//!
//! Conventions: `bytes` is `Vec<u8>`, `string` is `String`; enum-typed fields are `i32` as prost
//! stores them; proto3 singular scalars equal to their default are not sent, members of a `oneof`
//! always are.

/// etcdserverpb.ResponseHeader, read for its revision only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseHeader {
  /// Store revision when the request was applied (for a watch: the latest revision seen).
  #[prost(int64, tag = "3")]
  pub revision: i64,
}

// ---------------------------------------------------------------------------------------------
// Watch: the watch loop builds the stream's create request and reads each response for the
// revision to resume from and for cancellation.

/// mvccpb.KeyValue, read for its modification revision only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
  #[prost(int64, tag = "3")]
  pub mod_revision: i64,
}

/// mvccpb.Event, read for the key-value after the change only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
  #[prost(message, optional, tag = "2")]
  pub kv: Option<KeyValue>,
}

/// One message on the watch stream, client to server (the loop only ever sends a create).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchRequest {
  #[prost(oneof = "WatchOp", tags = "1")]
  pub request_union: Option<WatchOp>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum WatchOp {
  #[prost(message, tag = "1")]
  Create(WatchCreateRequest),
}

/// Event kinds a watcher can leave out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WatchFilter {
  NoPut = 0,
  NoDelete = 1,
}

/// Comes encoded from JS and is sent again on every reconnect with another start revision: all
/// of etcd's fields, since prost drops the ones it does not know.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchCreateRequest {
  #[prost(bytes = "vec", tag = "1")]
  pub key: Vec<u8>,
  #[prost(bytes = "vec", tag = "2")]
  pub range_end: Vec<u8>,
  /// First revision to report; 0 for "from now on".
  #[prost(int64, tag = "3")]
  pub start_revision: i64,
  #[prost(bool, tag = "4")]
  pub progress_notify: bool,
  #[prost(enumeration = "WatchFilter", repeated, tag = "5")]
  pub filters: Vec<i32>,
  #[prost(bool, tag = "6")]
  pub prev_kv: bool,
  #[prost(int64, tag = "7")]
  pub watch_id: i64,
  #[prost(bool, tag = "8")]
  pub fragment: bool,
}

/// One message on the watch stream, server to client (the fields the loop reads).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  /// Answer to a create request (no events).
  #[prost(bool, tag = "3")]
  pub created: bool,
  /// The watcher is gone: cancelled, compacted (see `compact_revision`) or refused.
  #[prost(bool, tag = "4")]
  pub canceled: bool,
  /// Set when the requested start revision has been compacted away.
  #[prost(int64, tag = "5")]
  pub compact_revision: i64,
  #[prost(string, tag = "6")]
  pub cancel_reason: String,
  /// Field 11, not 8: numbers 8–10 are unused.
  #[prost(message, repeated, tag = "11")]
  pub events: Vec<Event>,
}

// ---------------------------------------------------------------------------------------------
// Lease keep-alive: the shared keep-alive stream.

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseKeepAliveRequest {
  #[prost(int64, tag = "1")]
  pub id: i64,
}

/// Read for the lease and its new TTL (the raw bytes go to JS for the header).
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseKeepAliveResponse {
  #[prost(int64, tag = "2")]
  pub id: i64,
  /// New TTL in seconds; 0 or less when the lease no longer exists.
  #[prost(int64, tag = "3")]
  pub ttl: i64,
}

// ---------------------------------------------------------------------------------------------
// Authenticate: the engine fetches and refreshes auth tokens itself.

/// Trade a user name and password for a token, to send as the `token` metadata of later calls.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthenticateRequest {
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(string, tag = "2")]
  pub password: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthenticateResponse {
  #[prost(string, tag = "2")]
  pub token: String,
}

#[cfg(test)]
mod tests {
  use super::*;
  use prost::Message;

  // Expected bytes below are worked out by hand from the protobuf wire format:
  // tag byte = field_number << 3 | wire_type (0 varint, 2 length-delimited).

  #[test]
  fn encodes_watch_create_with_packed_filters() {
    let m = WatchRequest {
      request_union: Some(WatchOp::Create(WatchCreateRequest {
        key: b"a".to_vec(),
        filters: vec![WatchFilter::NoDelete as i32],
        prev_kv: true,
        ..Default::default()
      })),
    };
    // Inner: 0a 01 61 | 2a 01 01 (field 5 packed, 1 byte: NODELETE) | 30 01 (field 6 true).
    assert_eq!(m.encode_to_vec(), [0x0a, 0x08, 0x0a, 0x01, 0x61, 0x2a, 0x01, 0x01, 0x30, 0x01]);
    // An unpacked repeated enum (wire type 0 per element) decodes the same.
    let unpacked = WatchCreateRequest::decode(&[0x28, 0x01, 0x28, 0x00][..]).unwrap();
    assert_eq!(unpacked.filters, vec![1, 0]);
  }

  #[test]
  fn watch_create_request_survives_a_round_trip() {
    // Every field set: a decode and re-encode (what a reconnect does) must give the same bytes.
    let m = WatchCreateRequest {
      key: b"k".to_vec(),
      range_end: b"l".to_vec(),
      start_revision: 7,
      progress_notify: true,
      filters: vec![0, 1],
      prev_kv: true,
      watch_id: 3,
      fragment: true,
    };
    let bytes = m.encode_to_vec();
    assert_eq!(
      bytes,
      [0x0a, 0x01, 0x6b, 0x12, 0x01, 0x6c, 0x18, 0x07, 0x20, 0x01, 0x2a, 0x02, 0x00, 0x01, 0x30, 0x01, 0x38, 0x03, 0x40, 0x01]
    );
    assert_eq!(WatchCreateRequest::decode(&bytes[..]).unwrap().encode_to_vec(), bytes);
  }

  #[test]
  fn decodes_watch_response_skipping_unread_fields() {
    // header{ cluster_id 9, revision 5 }; watch_id 1 (field 2); events (field 11, wire 2: 0x5a) =
    // Event{ type DELETE, kv{ key "a", mod_revision 4 } }.
    let bytes = [0x0a, 0x04, 0x08, 0x09, 0x18, 0x05, 0x10, 0x01, 0x5a, 0x09, 0x08, 0x01, 0x12, 0x05, 0x0a, 0x01, 0x61, 0x18, 0x04];
    let m = WatchResponse::decode(&bytes[..]).unwrap();
    assert_eq!(m.header.map(|h| h.revision), Some(5));
    assert_eq!(m.events.len(), 1);
    assert_eq!(m.events[0].kv.as_ref().map(|kv| kv.mod_revision), Some(4));
  }

  #[test]
  fn encodes_negative_int64_as_ten_byte_varint() {
    // int64 (not sint64): two's complement, so -1 takes the full 10 bytes.
    let m = LeaseKeepAliveRequest { id: -1 };
    assert_eq!(m.encode_to_vec(), [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  }
}
