//! etcd v3 API messages, hand-written as prost structs (see the module doc of `v3`).
//!
//! One flat namespace for etcd's packages `mvccpb`, `authpb`, `etcdserverpb`, `v3lockpb` and
//! `v3electionpb`: their message names do not clash. Only the wire matters: every field keeps
//! its etcd field number and scalar type (int64 vs uint64 vs uint32 matters on the wire only
//! for negative values and for readers' range checks, but we keep them exact anyway). Rust names
//! are ours: snake_case fields, flat enums, and short names for the `oneof`s.
//!
//! Conventions:
//! - `bytes` is `Vec<u8>` (hands over to a napi `Buffer` without a copy), `string` is `String`.
//! - Enum-typed fields are `i32` as prost stores them; prost adds typed getters and setters
//!   (`sort_order()` / `set_sort_order(..)`), which map unknown numbers to the default.
//! - Proto3 singular scalars equal to their default are not sent; members of a `oneof` are
//!   always sent, even when zero.
//!
//! Fields marked "3.6+" are ignored by 3.5 servers and read as zero from them.

// ---------------------------------------------------------------------------------------------
// mvccpb: the stored key-value and watch events.

/// A key with its value and MVCC metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
  #[prost(bytes = "vec", tag = "1")]
  pub key: Vec<u8>,
  /// Revision of the last creation of this key.
  #[prost(int64, tag = "2")]
  pub create_revision: i64,
  /// Revision of the last modification of this key.
  #[prost(int64, tag = "3")]
  pub mod_revision: i64,
  /// Number of modifications since creation (1 right after creation; a delete resets it to 0).
  #[prost(int64, tag = "4")]
  pub version: i64,
  #[prost(bytes = "vec", tag = "5")]
  pub value: Vec<u8>,
  /// Attached lease id, 0 for none.
  #[prost(int64, tag = "6")]
  pub lease: i64,
}

/// Kind of change carried by an [`Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum EventType {
  Put = 0,
  Delete = 1,
}

/// One change seen by a watcher.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
  #[prost(enumeration = "EventType", tag = "1")]
  pub r#type: i32,
  /// The key after the change; for a delete, only `key` and `mod_revision` (the deletion's) are set.
  #[prost(message, optional, tag = "2")]
  pub kv: Option<KeyValue>,
  /// The key before the change, when the watch asked for `prev_kv`.
  #[prost(message, optional, tag = "3")]
  pub prev_kv: Option<KeyValue>,
}

// ---------------------------------------------------------------------------------------------
// authpb: users, roles and permissions.

#[derive(Clone, PartialEq, prost::Message)]
pub struct UserAddOptions {
  /// Create a user that cannot authenticate by password (e.g. certificate CN users).
  #[prost(bool, tag = "1")]
  pub no_password: bool,
}

/// A stored user (not returned by the client API, which hands out role names only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct User {
  #[prost(bytes = "vec", tag = "1")]
  pub name: Vec<u8>,
  #[prost(bytes = "vec", tag = "2")]
  pub password: Vec<u8>,
  #[prost(string, repeated, tag = "3")]
  pub roles: Vec<String>,
  #[prost(message, optional, tag = "4")]
  pub options: Option<UserAddOptions>,
}

/// Access granted by a [`Permission`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PermissionType {
  Read = 0,
  Write = 1,
  Readwrite = 2,
}

/// Access to one key, or to the range `[key, range_end)`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Permission {
  #[prost(enumeration = "PermissionType", tag = "1")]
  pub perm_type: i32,
  #[prost(bytes = "vec", tag = "2")]
  pub key: Vec<u8>,
  #[prost(bytes = "vec", tag = "3")]
  pub range_end: Vec<u8>,
}

/// A stored role (not returned as such by the client API).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Role {
  #[prost(bytes = "vec", tag = "1")]
  pub name: Vec<u8>,
  #[prost(message, repeated, tag = "2")]
  pub key_permission: Vec<Permission>,
}

// ---------------------------------------------------------------------------------------------
// etcdserverpb: common header.

/// Sent with every response: which cluster and member answered, at which store revision.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseHeader {
  #[prost(uint64, tag = "1")]
  pub cluster_id: u64,
  #[prost(uint64, tag = "2")]
  pub member_id: u64,
  /// Store revision when the request was applied (for a watch: the latest revision seen).
  #[prost(int64, tag = "3")]
  pub revision: i64,
  #[prost(uint64, tag = "4")]
  pub raft_term: u64,
}

// ---------------------------------------------------------------------------------------------
// etcdserverpb: KV service.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SortOrder {
  None = 0,
  Ascend = 1,
  Descend = 2,
}

/// What a range is sorted by. Note: numbered differently from [`CompareTarget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum SortTarget {
  Key = 0,
  Version = 1,
  Create = 2,
  Mod = 3,
  Value = 4,
}

/// Read one key (`range_end` empty), the range `[key, range_end)`, or everything from `key` on
/// (`range_end` = `[0]`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RangeRequest {
  #[prost(bytes = "vec", tag = "1")]
  pub key: Vec<u8>,
  #[prost(bytes = "vec", tag = "2")]
  pub range_end: Vec<u8>,
  /// At most this many keys; 0 for no limit.
  #[prost(int64, tag = "3")]
  pub limit: i64,
  /// Read at this past revision; 0 (or less) for the latest.
  #[prost(int64, tag = "4")]
  pub revision: i64,
  #[prost(enumeration = "SortOrder", tag = "5")]
  pub sort_order: i32,
  #[prost(enumeration = "SortTarget", tag = "6")]
  pub sort_target: i32,
  /// Answer from the contacted member's local state, without a quorum round trip.
  #[prost(bool, tag = "7")]
  pub serializable: bool,
  #[prost(bool, tag = "8")]
  pub keys_only: bool,
  #[prost(bool, tag = "9")]
  pub count_only: bool,
  /// Filters on the keys' revisions; 0 disables each.
  #[prost(int64, tag = "10")]
  pub min_mod_revision: i64,
  #[prost(int64, tag = "11")]
  pub max_mod_revision: i64,
  #[prost(int64, tag = "12")]
  pub min_create_revision: i64,
  #[prost(int64, tag = "13")]
  pub max_create_revision: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RangeResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, repeated, tag = "2")]
  pub kvs: Vec<KeyValue>,
  /// More keys matched than `limit` let through.
  #[prost(bool, tag = "3")]
  pub more: bool,
  /// Number of keys in the range, regardless of `limit`.
  #[prost(int64, tag = "4")]
  pub count: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRequest {
  #[prost(bytes = "vec", tag = "1")]
  pub key: Vec<u8>,
  #[prost(bytes = "vec", tag = "2")]
  pub value: Vec<u8>,
  /// Lease to attach; 0 detaches.
  #[prost(int64, tag = "3")]
  pub lease: i64,
  /// Return the previous key-value.
  #[prost(bool, tag = "4")]
  pub prev_kv: bool,
  /// Keep the current value (the key must exist).
  #[prost(bool, tag = "5")]
  pub ignore_value: bool,
  /// Keep the current lease (the key must exist).
  #[prost(bool, tag = "6")]
  pub ignore_lease: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PutResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, optional, tag = "2")]
  pub prev_kv: Option<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteRangeRequest {
  #[prost(bytes = "vec", tag = "1")]
  pub key: Vec<u8>,
  #[prost(bytes = "vec", tag = "2")]
  pub range_end: Vec<u8>,
  #[prost(bool, tag = "3")]
  pub prev_kv: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteRangeResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(int64, tag = "2")]
  pub deleted: i64,
  #[prost(message, repeated, tag = "3")]
  pub prev_kvs: Vec<KeyValue>,
}

/// One operation of a transaction branch.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestOp {
  #[prost(oneof = "OpRequest", tags = "1, 2, 3, 4")]
  pub request: Option<OpRequest>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum OpRequest {
  #[prost(message, tag = "1")]
  Range(RangeRequest),
  #[prost(message, tag = "2")]
  Put(PutRequest),
  #[prost(message, tag = "3")]
  DeleteRange(DeleteRangeRequest),
  /// Nested transaction (no key may be written twice across the whole transaction).
  #[prost(message, tag = "4")]
  Txn(TxnRequest),
}

/// The result of one [`RequestOp`], same variant.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseOp {
  #[prost(oneof = "OpResponse", tags = "1, 2, 3, 4")]
  pub response: Option<OpResponse>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum OpResponse {
  #[prost(message, tag = "1")]
  Range(RangeResponse),
  #[prost(message, tag = "2")]
  Put(PutResponse),
  #[prost(message, tag = "3")]
  DeleteRange(DeleteRangeResponse),
  #[prost(message, tag = "4")]
  Txn(TxnResponse),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum CompareResult {
  Equal = 0,
  Greater = 1,
  Less = 2,
  NotEqual = 3,
}

/// Which attribute of the key a [`Compare`] looks at. Note: numbered differently from
/// [`SortTarget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum CompareTarget {
  Version = 0,
  Create = 1,
  Mod = 2,
  Value = 3,
  Lease = 4,
}

/// A transaction guard: `<target of key> <result> <operand>`, over one key or over every key of
/// `[key, range_end)` (all must satisfy it).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Compare {
  #[prost(enumeration = "CompareResult", tag = "1")]
  pub result: i32,
  #[prost(enumeration = "CompareTarget", tag = "2")]
  pub target: i32,
  #[prost(bytes = "vec", tag = "3")]
  pub key: Vec<u8>,
  /// The operand; its variant should match `target`.
  #[prost(oneof = "CompareOperand", tags = "4, 5, 6, 7, 8")]
  pub target_union: Option<CompareOperand>,
  /// Field 64, far from the others: encodes as the two-byte tag `82 04`.
  #[prost(bytes = "vec", tag = "64")]
  pub range_end: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum CompareOperand {
  #[prost(int64, tag = "4")]
  Version(i64),
  #[prost(int64, tag = "5")]
  CreateRevision(i64),
  #[prost(int64, tag = "6")]
  ModRevision(i64),
  #[prost(bytes = "vec", tag = "7")]
  Value(Vec<u8>),
  #[prost(int64, tag = "8")]
  Lease(i64),
}

/// If every `compare` holds, run `success`, else `failure`; atomically.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TxnRequest {
  #[prost(message, repeated, tag = "1")]
  pub compare: Vec<Compare>,
  #[prost(message, repeated, tag = "2")]
  pub success: Vec<RequestOp>,
  #[prost(message, repeated, tag = "3")]
  pub failure: Vec<RequestOp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TxnResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  /// Whether the compares held (so `responses` answer `success`).
  #[prost(bool, tag = "2")]
  pub succeeded: bool,
  #[prost(message, repeated, tag = "3")]
  pub responses: Vec<ResponseOp>,
}

/// Drop the history before `revision`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CompactionRequest {
  #[prost(int64, tag = "1")]
  pub revision: i64,
  /// Wait until the compaction is physically applied to the backend.
  #[prost(bool, tag = "2")]
  pub physical: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CompactionResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

// ---------------------------------------------------------------------------------------------
// etcdserverpb: Watch service.

/// One message on the watch stream, client to server.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchRequest {
  #[prost(oneof = "WatchOp", tags = "1, 2, 3")]
  pub request_union: Option<WatchOp>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum WatchOp {
  #[prost(message, tag = "1")]
  Create(WatchCreateRequest),
  #[prost(message, tag = "2")]
  Cancel(WatchCancelRequest),
  /// Ask for a progress notification (a header-only response) on every watcher of the stream.
  #[prost(message, tag = "3")]
  Progress(WatchProgressRequest),
}

/// Event kinds a watcher can leave out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum WatchFilter {
  NoPut = 0,
  NoDelete = 1,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchCreateRequest {
  #[prost(bytes = "vec", tag = "1")]
  pub key: Vec<u8>,
  #[prost(bytes = "vec", tag = "2")]
  pub range_end: Vec<u8>,
  /// First revision to report; 0 for "from now on".
  #[prost(int64, tag = "3")]
  pub start_revision: i64,
  /// Send periodic empty responses when idle, carrying the current revision.
  #[prost(bool, tag = "4")]
  pub progress_notify: bool,
  /// Packed on the wire (proto3 default for repeated scalars); the server accepts either form.
  #[prost(enumeration = "WatchFilter", repeated, tag = "5")]
  pub filters: Vec<i32>,
  #[prost(bool, tag = "6")]
  pub prev_kv: bool,
  /// Caller-chosen watcher id on this stream; 0 lets the server pick.
  #[prost(int64, tag = "7")]
  pub watch_id: i64,
  /// Let the server split a large revision's events over several responses.
  #[prost(bool, tag = "8")]
  pub fragment: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchCancelRequest {
  #[prost(int64, tag = "1")]
  pub watch_id: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchProgressRequest {}

/// One message on the watch stream, server to client.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(int64, tag = "2")]
  pub watch_id: i64,
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
  /// More fragments of the same revision follow.
  #[prost(bool, tag = "7")]
  pub fragment: bool,
  /// Field 11, not 8: numbers 8–10 are unused.
  #[prost(message, repeated, tag = "11")]
  pub events: Vec<Event>,
}

// ---------------------------------------------------------------------------------------------
// etcdserverpb: Lease service.

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseGrantRequest {
  /// Time to live in seconds.
  #[prost(int64, tag = "1")]
  pub ttl: i64,
  /// Requested id; 0 lets the server pick.
  #[prost(int64, tag = "2")]
  pub id: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseGrantResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(int64, tag = "2")]
  pub id: i64,
  /// Granted TTL in seconds (the server may raise it to its minimum).
  #[prost(int64, tag = "3")]
  pub ttl: i64,
  #[prost(string, tag = "4")]
  pub error: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseRevokeRequest {
  #[prost(int64, tag = "1")]
  pub id: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseRevokeResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseKeepAliveRequest {
  #[prost(int64, tag = "1")]
  pub id: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseKeepAliveResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(int64, tag = "2")]
  pub id: i64,
  /// New TTL in seconds; 0 or less when the lease no longer exists.
  #[prost(int64, tag = "3")]
  pub ttl: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseTimeToLiveRequest {
  #[prost(int64, tag = "1")]
  pub id: i64,
  /// Also list the keys attached to the lease.
  #[prost(bool, tag = "2")]
  pub keys: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseTimeToLiveResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(int64, tag = "2")]
  pub id: i64,
  /// Remaining seconds; -1 when the lease does not exist.
  #[prost(int64, tag = "3")]
  pub ttl: i64,
  /// TTL at grant time or at the last keep-alive.
  #[prost(int64, tag = "4")]
  pub granted_ttl: i64,
  #[prost(bytes = "vec", repeated, tag = "5")]
  pub keys: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseLeasesRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseStatus {
  #[prost(int64, tag = "1")]
  pub id: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseLeasesResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, repeated, tag = "2")]
  pub leases: Vec<LeaseStatus>,
}

// ---------------------------------------------------------------------------------------------
// etcdserverpb: Cluster service.

#[derive(Clone, PartialEq, prost::Message)]
pub struct Member {
  #[prost(uint64, tag = "1")]
  pub id: u64,
  /// Empty while a freshly added member has not started yet.
  #[prost(string, tag = "2")]
  pub name: String,
  #[prost(string, repeated, tag = "3")]
  pub peer_urls: Vec<String>,
  #[prost(string, repeated, tag = "4")]
  pub client_urls: Vec<String>,
  #[prost(bool, tag = "5")]
  pub is_learner: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberAddRequest {
  #[prost(string, repeated, tag = "1")]
  pub peer_urls: Vec<String>,
  #[prost(bool, tag = "2")]
  pub is_learner: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberAddResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  /// The member just added.
  #[prost(message, optional, tag = "2")]
  pub member: Option<Member>,
  #[prost(message, repeated, tag = "3")]
  pub members: Vec<Member>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberRemoveRequest {
  #[prost(uint64, tag = "1")]
  pub id: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberRemoveResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, repeated, tag = "2")]
  pub members: Vec<Member>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberUpdateRequest {
  #[prost(uint64, tag = "1")]
  pub id: u64,
  #[prost(string, repeated, tag = "2")]
  pub peer_urls: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberUpdateResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, repeated, tag = "2")]
  pub members: Vec<Member>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberListRequest {
  /// Go through the leader (quorum read) instead of the contacted member's view.
  #[prost(bool, tag = "1")]
  pub linearizable: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberListResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, repeated, tag = "2")]
  pub members: Vec<Member>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberPromoteRequest {
  #[prost(uint64, tag = "1")]
  pub id: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberPromoteResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, repeated, tag = "2")]
  pub members: Vec<Member>,
}

// ---------------------------------------------------------------------------------------------
// etcdserverpb: Maintenance service.

/// A cluster alarm (a top-level enum of the package, shared by request and response).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AlarmType {
  /// No alarm; in a GET request: every alarm.
  None = 0,
  Nospace = 1,
  Corrupt = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AlarmAction {
  Get = 0,
  Activate = 1,
  Deactivate = 2,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AlarmRequest {
  #[prost(enumeration = "AlarmAction", tag = "1")]
  pub action: i32,
  /// Member concerned; 0 for every member (GET).
  #[prost(uint64, tag = "2")]
  pub member_id: u64,
  #[prost(enumeration = "AlarmType", tag = "3")]
  pub alarm: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AlarmMember {
  #[prost(uint64, tag = "1")]
  pub member_id: u64,
  #[prost(enumeration = "AlarmType", tag = "2")]
  pub alarm: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AlarmResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, repeated, tag = "2")]
  pub alarms: Vec<AlarmMember>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  /// Server version, e.g. "3.5.1".
  #[prost(string, tag = "2")]
  pub version: String,
  /// Backend file size in bytes.
  #[prost(int64, tag = "3")]
  pub db_size: i64,
  /// Leader's member id; 0 while there is none.
  #[prost(uint64, tag = "4")]
  pub leader: u64,
  #[prost(uint64, tag = "5")]
  pub raft_index: u64,
  #[prost(uint64, tag = "6")]
  pub raft_term: u64,
  #[prost(uint64, tag = "7")]
  pub raft_applied_index: u64,
  /// Alarms and other problems of the member, as text.
  #[prost(string, repeated, tag = "8")]
  pub errors: Vec<String>,
  /// Bytes of the backend actually in use (the rest is reclaimable by defragmentation).
  #[prost(int64, tag = "9")]
  pub db_size_in_use: i64,
  #[prost(bool, tag = "10")]
  pub is_learner: bool,
  /// 3.6+.
  #[prost(string, tag = "11")]
  pub storage_version: String,
  /// 3.6+: backend quota in bytes.
  #[prost(int64, tag = "12")]
  pub db_size_quota: i64,
  /// 3.6+.
  #[prost(message, optional, tag = "13")]
  pub downgrade_info: Option<DowngradeInfo>,
}

/// 3.6+: the cluster's downgrade state, in [`StatusResponse`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct DowngradeInfo {
  #[prost(bool, tag = "1")]
  pub enabled: bool,
  #[prost(string, tag = "2")]
  pub target_version: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DefragmentRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DefragmentResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

/// Hash of the whole backend (testing aid; prefer [`HashKvRequest`]).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HashRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HashResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(uint32, tag = "2")]
  pub hash: u32,
}

/// Hash of the key space up to `revision` (0 for the latest).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HashKvRequest {
  #[prost(int64, tag = "1")]
  pub revision: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HashKvResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(uint32, tag = "2")]
  pub hash: u32,
  #[prost(int64, tag = "3")]
  pub compact_revision: i64,
  /// 3.6+: the revision the hash was computed at.
  #[prost(int64, tag = "4")]
  pub hash_revision: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SnapshotRequest {}

/// One chunk of a backend snapshot stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SnapshotResponse {
  /// Set on the first chunk only.
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  /// Bytes still to come after this chunk.
  #[prost(uint64, tag = "2")]
  pub remaining_bytes: u64,
  #[prost(bytes = "vec", tag = "3")]
  pub blob: Vec<u8>,
  /// 3.6+: storage version of the snapshot.
  #[prost(string, tag = "4")]
  pub version: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MoveLeaderRequest {
  #[prost(uint64, tag = "1")]
  pub target_id: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MoveLeaderResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DowngradeAction {
  Validate = 0,
  Enable = 1,
  Cancel = 2,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DowngradeRequest {
  #[prost(enumeration = "DowngradeAction", tag = "1")]
  pub action: i32,
  /// Target version, "major.minor" (e.g. "3.4").
  #[prost(string, tag = "2")]
  pub version: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DowngradeResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  /// The cluster version.
  #[prost(string, tag = "2")]
  pub version: String,
}

// ---------------------------------------------------------------------------------------------
// etcdserverpb: Auth service. Beware the field names of the requests: some say `name` where a
// sibling says `role` or `user` (the numbers are what matter).

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthEnableRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthEnableResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthDisableRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthDisableResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthStatusRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthStatusResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(bool, tag = "2")]
  pub enabled: bool,
  /// Bumped by every change to users, roles or permissions.
  #[prost(uint64, tag = "3")]
  pub auth_revision: u64,
}

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
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(string, tag = "2")]
  pub token: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserAddRequest {
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(string, tag = "2")]
  pub password: String,
  #[prost(message, optional, tag = "3")]
  pub options: Option<UserAddOptions>,
  /// A bcrypt hash to store instead of hashing `password` on the server.
  #[prost(string, tag = "4")]
  pub hashed_password: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserAddResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserGetRequest {
  #[prost(string, tag = "1")]
  pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserGetResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(string, repeated, tag = "2")]
  pub roles: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserListRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserListResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(string, repeated, tag = "2")]
  pub users: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserDeleteRequest {
  #[prost(string, tag = "1")]
  pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserDeleteResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserChangePasswordRequest {
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(string, tag = "2")]
  pub password: String,
  #[prost(string, tag = "3")]
  pub hashed_password: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserChangePasswordResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserGrantRoleRequest {
  #[prost(string, tag = "1")]
  pub user: String,
  #[prost(string, tag = "2")]
  pub role: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserGrantRoleResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserRevokeRoleRequest {
  /// The user.
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(string, tag = "2")]
  pub role: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthUserRevokeRoleResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleAddRequest {
  #[prost(string, tag = "1")]
  pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleAddResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleGetRequest {
  #[prost(string, tag = "1")]
  pub role: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleGetResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, repeated, tag = "2")]
  pub perm: Vec<Permission>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleListRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleListResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(string, repeated, tag = "2")]
  pub roles: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleDeleteRequest {
  #[prost(string, tag = "1")]
  pub role: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleDeleteResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleGrantPermissionRequest {
  /// The role.
  #[prost(string, tag = "1")]
  pub name: String,
  #[prost(message, optional, tag = "2")]
  pub perm: Option<Permission>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleGrantPermissionResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleRevokePermissionRequest {
  #[prost(string, tag = "1")]
  pub role: String,
  #[prost(bytes = "vec", tag = "2")]
  pub key: Vec<u8>,
  #[prost(bytes = "vec", tag = "3")]
  pub range_end: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AuthRoleRevokePermissionResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

// ---------------------------------------------------------------------------------------------
// v3lockpb: server-side distributed lock.

#[derive(Clone, PartialEq, prost::Message)]
pub struct LockRequest {
  /// Lock name (a key prefix).
  #[prost(bytes = "vec", tag = "1")]
  pub name: Vec<u8>,
  /// Lease that bounds the ownership; the lock is released when it expires.
  #[prost(int64, tag = "2")]
  pub lease: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LockResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  /// Ownership key, held while the lock is ours; pass it to unlock.
  #[prost(bytes = "vec", tag = "2")]
  pub key: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UnlockRequest {
  #[prost(bytes = "vec", tag = "1")]
  pub key: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UnlockResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

// ---------------------------------------------------------------------------------------------
// v3electionpb: server-side leader election.

/// Proof of leadership, returned by a campaign and required to proclaim or resign.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaderKey {
  /// Election name.
  #[prost(bytes = "vec", tag = "1")]
  pub name: Vec<u8>,
  /// The leader's own key in the election.
  #[prost(bytes = "vec", tag = "2")]
  pub key: Vec<u8>,
  /// Creation revision of `key`.
  #[prost(int64, tag = "3")]
  pub rev: i64,
  #[prost(int64, tag = "4")]
  pub lease: i64,
}

/// Wait to become leader of `name`, then announce `value`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CampaignRequest {
  #[prost(bytes = "vec", tag = "1")]
  pub name: Vec<u8>,
  #[prost(int64, tag = "2")]
  pub lease: i64,
  #[prost(bytes = "vec", tag = "3")]
  pub value: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CampaignResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, optional, tag = "2")]
  pub leader: Option<LeaderKey>,
}

/// Replace the announced value, as the current leader.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProclaimRequest {
  #[prost(message, optional, tag = "1")]
  pub leader: Option<LeaderKey>,
  #[prost(bytes = "vec", tag = "2")]
  pub value: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ProclaimResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}

/// Names an election, for Leader and Observe.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaderRequest {
  #[prost(bytes = "vec", tag = "1")]
  pub name: Vec<u8>,
}

/// The current leader's key-value (its value is the announcement).
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaderResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
  #[prost(message, optional, tag = "2")]
  pub kv: Option<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ResignRequest {
  #[prost(message, optional, tag = "1")]
  pub leader: Option<LeaderKey>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ResignResponse {
  #[prost(message, optional, tag = "1")]
  pub header: Option<ResponseHeader>,
}
