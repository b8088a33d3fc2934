//! Typed calls of etcd's v3 gRPC methods, one async fn each, over tonic's generic client.
//!
//! Every call takes anything that converts into a `tonic::Request` (a bare message, or a
//! `Request` carrying metadata such as the auth `token`) and gives back the raw
//! `tonic::Response` or `tonic::Status`. No retries, no auth, no endpoint selection here.
//!
//! Bidirectional streams (`watch`, `lease_keep_alive`): the server sends its response headers with
//! its first message only, so the returned future resolves once the server has something to say.
//! Queue the first request in the stream before awaiting the call.

use http::uri::PathAndQuery;
use http_body::Body as HttpBody;
use tonic::body::Body;
use tonic::client::{Grpc, GrpcService};
use tonic::transport::Channel;
use tonic::{GrpcMethod, IntoRequest, IntoStreamingRequest, Response, Status, Streaming};
use tonic_prost::ProstCodec;

use super::proto::*;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Largest message we accept by default: etcd's Go client allows up to 2 GiB - 1 (tonic's own
/// default, 4 MiB, is below what a large range or a snapshot chunk can legitimately reach).
pub const DEFAULT_MAX_DECODING_MESSAGE_SIZE: usize = i32::MAX as usize;

/// Client for every etcd v3 service on one connection (a tonic `Channel` by default; any
/// `GrpcService`, e.g. an intercepted channel, works). Cheap to clone; calls take `&self` and
/// may run concurrently (each works on its own clone of the service handle).
#[derive(Clone, Debug)]
pub struct Rpc<T = Channel> {
  grpc: Grpc<T>,
}

impl<T> Rpc<T> {
  pub fn new(service: T) -> Self {
    Self { grpc: Grpc::new(service).max_decoding_message_size(DEFAULT_MAX_DECODING_MESSAGE_SIZE) }
  }

  /// Limit on one received message.
  pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
    self.grpc = self.grpc.max_decoding_message_size(limit);
    self
  }

  /// Limit on one sent message (etcd itself refuses requests above `--max-request-bytes`).
  pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
    self.grpc = self.grpc.max_encoding_message_size(limit);
    self
  }
}

/// The unary methods: `fn_name = "package.Service" "Method" (Request) -> Response;`.
macro_rules! unary_calls {
  ($($(#[$doc:meta])* $name:ident = $service:literal $method:literal ($req:ty) -> $resp:ty;)*) => {$(
    $(#[$doc])*
    pub async fn $name(&self, request: impl IntoRequest<$req>) -> Result<Response<$resp>, Status> {
      let path = concat!("/", $service, "/", $method);
      self.unary(request.into_request(), $service, $method, path).await
    }
  )*};
}

impl<T> Rpc<T>
where
  T: GrpcService<Body> + Clone,
  T::ResponseBody: HttpBody + Send + 'static,
  <T::ResponseBody as HttpBody>::Error: Into<BoxError>,
{
  unary_calls! {
    kv_range = "etcdserverpb.KV" "Range" (RangeRequest) -> RangeResponse;
    kv_put = "etcdserverpb.KV" "Put" (PutRequest) -> PutResponse;
    kv_delete_range = "etcdserverpb.KV" "DeleteRange" (DeleteRangeRequest) -> DeleteRangeResponse;
    kv_txn = "etcdserverpb.KV" "Txn" (TxnRequest) -> TxnResponse;
    kv_compact = "etcdserverpb.KV" "Compact" (CompactionRequest) -> CompactionResponse;

    lease_grant = "etcdserverpb.Lease" "LeaseGrant" (LeaseGrantRequest) -> LeaseGrantResponse;
    lease_revoke = "etcdserverpb.Lease" "LeaseRevoke" (LeaseRevokeRequest) -> LeaseRevokeResponse;
    lease_time_to_live = "etcdserverpb.Lease" "LeaseTimeToLive"
      (LeaseTimeToLiveRequest) -> LeaseTimeToLiveResponse;
    lease_leases = "etcdserverpb.Lease" "LeaseLeases" (LeaseLeasesRequest) -> LeaseLeasesResponse;

    cluster_member_add = "etcdserverpb.Cluster" "MemberAdd" (MemberAddRequest) -> MemberAddResponse;
    cluster_member_remove = "etcdserverpb.Cluster" "MemberRemove"
      (MemberRemoveRequest) -> MemberRemoveResponse;
    cluster_member_update = "etcdserverpb.Cluster" "MemberUpdate"
      (MemberUpdateRequest) -> MemberUpdateResponse;
    cluster_member_list = "etcdserverpb.Cluster" "MemberList" (MemberListRequest) -> MemberListResponse;
    cluster_member_promote = "etcdserverpb.Cluster" "MemberPromote"
      (MemberPromoteRequest) -> MemberPromoteResponse;

    maintenance_alarm = "etcdserverpb.Maintenance" "Alarm" (AlarmRequest) -> AlarmResponse;
    maintenance_status = "etcdserverpb.Maintenance" "Status" (StatusRequest) -> StatusResponse;
    maintenance_defragment = "etcdserverpb.Maintenance" "Defragment"
      (DefragmentRequest) -> DefragmentResponse;
    maintenance_hash = "etcdserverpb.Maintenance" "Hash" (HashRequest) -> HashResponse;
    maintenance_hash_kv = "etcdserverpb.Maintenance" "HashKV" (HashKvRequest) -> HashKvResponse;
    maintenance_move_leader = "etcdserverpb.Maintenance" "MoveLeader"
      (MoveLeaderRequest) -> MoveLeaderResponse;
    maintenance_downgrade = "etcdserverpb.Maintenance" "Downgrade" (DowngradeRequest) -> DowngradeResponse;

    auth_enable = "etcdserverpb.Auth" "AuthEnable" (AuthEnableRequest) -> AuthEnableResponse;
    auth_disable = "etcdserverpb.Auth" "AuthDisable" (AuthDisableRequest) -> AuthDisableResponse;
    auth_status = "etcdserverpb.Auth" "AuthStatus" (AuthStatusRequest) -> AuthStatusResponse;
    auth_authenticate = "etcdserverpb.Auth" "Authenticate" (AuthenticateRequest) -> AuthenticateResponse;
    auth_user_add = "etcdserverpb.Auth" "UserAdd" (AuthUserAddRequest) -> AuthUserAddResponse;
    auth_user_get = "etcdserverpb.Auth" "UserGet" (AuthUserGetRequest) -> AuthUserGetResponse;
    auth_user_list = "etcdserverpb.Auth" "UserList" (AuthUserListRequest) -> AuthUserListResponse;
    auth_user_delete = "etcdserverpb.Auth" "UserDelete" (AuthUserDeleteRequest) -> AuthUserDeleteResponse;
    auth_user_change_password = "etcdserverpb.Auth" "UserChangePassword"
      (AuthUserChangePasswordRequest) -> AuthUserChangePasswordResponse;
    auth_user_grant_role = "etcdserverpb.Auth" "UserGrantRole"
      (AuthUserGrantRoleRequest) -> AuthUserGrantRoleResponse;
    auth_user_revoke_role = "etcdserverpb.Auth" "UserRevokeRole"
      (AuthUserRevokeRoleRequest) -> AuthUserRevokeRoleResponse;
    auth_role_add = "etcdserverpb.Auth" "RoleAdd" (AuthRoleAddRequest) -> AuthRoleAddResponse;
    auth_role_get = "etcdserverpb.Auth" "RoleGet" (AuthRoleGetRequest) -> AuthRoleGetResponse;
    auth_role_list = "etcdserverpb.Auth" "RoleList" (AuthRoleListRequest) -> AuthRoleListResponse;
    auth_role_delete = "etcdserverpb.Auth" "RoleDelete" (AuthRoleDeleteRequest) -> AuthRoleDeleteResponse;
    auth_role_grant_permission = "etcdserverpb.Auth" "RoleGrantPermission"
      (AuthRoleGrantPermissionRequest) -> AuthRoleGrantPermissionResponse;
    auth_role_revoke_permission = "etcdserverpb.Auth" "RoleRevokePermission"
      (AuthRoleRevokePermissionRequest) -> AuthRoleRevokePermissionResponse;

    /// Blocks until the lock is ours (or the call is cancelled / times out).
    lock_lock = "v3lockpb.Lock" "Lock" (LockRequest) -> LockResponse;
    lock_unlock = "v3lockpb.Lock" "Unlock" (UnlockRequest) -> UnlockResponse;

    /// Blocks until we are the leader (or the call is cancelled / times out).
    election_campaign = "v3electionpb.Election" "Campaign" (CampaignRequest) -> CampaignResponse;
    election_proclaim = "v3electionpb.Election" "Proclaim" (ProclaimRequest) -> ProclaimResponse;
    election_leader = "v3electionpb.Election" "Leader" (LeaderRequest) -> LeaderResponse;
    election_resign = "v3electionpb.Election" "Resign" (ResignRequest) -> ResignResponse;
  }

  /// The watch stream: create, cancel and progress requests in, created/canceled notices and
  /// events out, multiplexing any number of watchers by `watch_id`.
  pub async fn watch(
    &self,
    requests: impl IntoStreamingRequest<Message = WatchRequest>,
  ) -> Result<Response<Streaming<WatchResponse>>, Status> {
    let mut grpc = self.ready().await?;
    let request = with_method(requests.into_streaming_request(), "etcdserverpb.Watch", "Watch");
    grpc.streaming(request, PathAndQuery::from_static("/etcdserverpb.Watch/Watch"), ProstCodec::default()).await
  }

  /// Keep-alive stream: one response per request (ttl <= 0 once the lease is gone).
  pub async fn lease_keep_alive(
    &self,
    requests: impl IntoStreamingRequest<Message = LeaseKeepAliveRequest>,
  ) -> Result<Response<Streaming<LeaseKeepAliveResponse>>, Status> {
    let mut grpc = self.ready().await?;
    let request = with_method(requests.into_streaming_request(), "etcdserverpb.Lease", "LeaseKeepAlive");
    let path = PathAndQuery::from_static("/etcdserverpb.Lease/LeaseKeepAlive");
    grpc.streaming(request, path, ProstCodec::default()).await
  }

  /// The backend database, in chunks.
  pub async fn maintenance_snapshot(
    &self,
    request: impl IntoRequest<SnapshotRequest>,
  ) -> Result<Response<Streaming<SnapshotResponse>>, Status> {
    let mut grpc = self.ready().await?;
    let request = with_method(request.into_request(), "etcdserverpb.Maintenance", "Snapshot");
    let path = PathAndQuery::from_static("/etcdserverpb.Maintenance/Snapshot");
    grpc.server_streaming(request, path, ProstCodec::default()).await
  }

  /// The current leader first, then every change of leader or of its value.
  pub async fn election_observe(
    &self,
    request: impl IntoRequest<LeaderRequest>,
  ) -> Result<Response<Streaming<LeaderResponse>>, Status> {
    let mut grpc = self.ready().await?;
    let request = with_method(request.into_request(), "v3electionpb.Election", "Observe");
    let path = PathAndQuery::from_static("/v3electionpb.Election/Observe");
    grpc.server_streaming(request, path, ProstCodec::default()).await
  }

  /// A ready clone of the client (tonic's calls take `&mut`; clones share the connection).
  async fn ready(&self) -> Result<Grpc<T>, Status> {
    let mut grpc = self.grpc.clone();
    grpc.ready().await.map_err(|e| Status::from_error(e.into()))?;
    Ok(grpc)
  }

  async fn unary<Q, R>(
    &self,
    request: tonic::Request<Q>,
    service: &'static str,
    method: &'static str,
    path: &'static str,
  ) -> Result<Response<R>, Status>
  where
    Q: prost::Message + Send + Sync + 'static,
    R: prost::Message + Default + Send + Sync + 'static,
  {
    let mut grpc = self.ready().await?;
    let request = with_method(request, service, method);
    grpc.unary(request, PathAndQuery::from_static(path), ProstCodec::default()).await
  }
}

/// Tags the request with its method, as generated clients do (for interceptors and tracing).
fn with_method<M>(mut request: tonic::Request<M>, service: &'static str, method: &'static str) -> tonic::Request<M> {
  request.extensions_mut().insert(GrpcMethod::new(service, method));
  request
}

#[cfg(test)]
mod tests {
  use super::*;
  use prost::Message;

  // Expected bytes below are worked out by hand from the protobuf wire format:
  // tag byte = field_number << 3 | wire_type (0 varint, 2 length-delimited).

  #[test]
  fn encodes_range_request() {
    let m = RangeRequest { key: b"foo".to_vec(), limit: 1, ..Default::default() };
    // 0a = field 1 bytes, len 3, "foo"; 18 = field 3 varint, 1.
    assert_eq!(m.encode_to_vec(), [0x0a, 0x03, 0x66, 0x6f, 0x6f, 0x18, 0x01]);
    assert_eq!(RangeRequest::decode(&[0x0a, 0x03, 0x66, 0x6f, 0x6f, 0x18, 0x01][..]).unwrap(), m);

    let sorted = RangeRequest {
      key: vec![0],
      range_end: vec![0],
      sort_order: SortOrder::Descend as i32,
      sort_target: SortTarget::Mod as i32,
      count_only: true,
      max_create_revision: 300,
      ..Default::default()
    };
    // 28 = field 5 (2), 30 = field 6 (3), 48 = field 9 (true), 68 = field 13 varint 300 = ac 02.
    let expected = [0x0a, 0x01, 0x00, 0x12, 0x01, 0x00, 0x28, 0x02, 0x30, 0x03, 0x48, 0x01, 0x68, 0xac, 0x02];
    assert_eq!(sorted.encode_to_vec(), expected);
  }

  #[test]
  fn encodes_compare_with_far_range_end_and_zero_oneof() {
    let m = Compare {
      result: CompareResult::Greater as i32,
      target: CompareTarget::Mod as i32,
      key: b"a".to_vec(),
      target_union: Some(CompareOperand::ModRevision(5)),
      range_end: b"b".to_vec(),
    };
    // Field 6 varint = 0x30; field 64 bytes = (64 << 3 | 2) = 514 = varint 82 04.
    let expected = [0x08, 0x01, 0x10, 0x02, 0x1a, 0x01, 0x61, 0x30, 0x05, 0x82, 0x04, 0x01, 0x62];
    assert_eq!(m.encode_to_vec(), expected);
    assert_eq!(Compare::decode(&expected[..]).unwrap(), m);

    // "version == 0" (key absent): the enum defaults are left out, the oneof's zero is not.
    let absent = Compare {
      key: b"k".to_vec(),
      target_union: Some(CompareOperand::Version(0)),
      ..Default::default()
    };
    assert_eq!(absent.encode_to_vec(), [0x1a, 0x01, 0x6b, 0x20, 0x00]);
  }

  #[test]
  fn encodes_txn_with_empty_ops() {
    let m = TxnRequest {
      compare: vec![],
      success: vec![RequestOp { request: Some(OpRequest::Range(RangeRequest::default())) }],
      failure: vec![RequestOp { request: Some(OpRequest::Txn(TxnRequest::default())) }],
    };
    // success (field 2) = RequestOp{ field 1: empty } = 0a 00; failure (field 3) = 22 00 inside.
    assert_eq!(m.encode_to_vec(), [0x12, 0x02, 0x0a, 0x00, 0x1a, 0x02, 0x22, 0x00]);
  }

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
    // An unpacked repeated enum (08-style tag, wire type 0) decodes the same.
    let unpacked = WatchCreateRequest::decode(&[0x28, 0x01, 0x28, 0x00][..]).unwrap();
    assert_eq!(unpacked.filters, vec![1, 0]);
  }

  #[test]
  fn decodes_watch_response_events_at_field_11() {
    // watch_id 1; events (field 11, wire 2: 0x5a) = Event{ type DELETE, kv{ key "a" } }.
    let bytes = [0x10, 0x01, 0x5a, 0x07, 0x08, 0x01, 0x12, 0x03, 0x0a, 0x01, 0x61];
    let m = WatchResponse::decode(&bytes[..]).unwrap();
    assert_eq!(m.watch_id, 1);
    assert_eq!(m.events.len(), 1);
    assert_eq!(m.events[0].r#type(), EventType::Delete);
    assert_eq!(m.events[0].kv.as_ref().unwrap().key, b"a");
    assert_eq!(m.encode_to_vec(), bytes);
  }

  #[test]
  fn encodes_negative_int64_as_ten_byte_varint() {
    // int64 (not sint64): two's complement, so -1 takes the full 10 bytes.
    let m = LeaseKeepAliveRequest { id: -1 };
    assert_eq!(m.encode_to_vec(), [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    let h = ResponseHeader { cluster_id: u64::MAX, revision: 2, ..Default::default() };
    let mut expected = vec![0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expected.extend([0x18, 0x02]);
    assert_eq!(h.encode_to_vec(), expected);
  }

  #[test]
  fn empty_messages_encode_to_nothing() {
    assert!(StatusRequest {}.encode_to_vec().is_empty());
    assert!(MemberListRequest::default().encode_to_vec().is_empty());
    // Permission READ (0) is the default and so is left out; WRITE is not.
    let p = Permission { perm_type: PermissionType::Write as i32, key: b"k".to_vec(), range_end: vec![] };
    assert_eq!(p.encode_to_vec(), [0x08, 0x01, 0x12, 0x01, 0x6b]);
  }

  mod live {
    //! Against a real etcd 3.5 (skipped when none is installed).

    use super::super::*;
    use std::net::TcpListener;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::ReceiverStream;
    use tonic::transport::Endpoint;
    use tonic::Code;

    /// Kills etcd and removes its directory when the test ends, panicking or not.
    struct Etcd {
      child: Child,
      dir: PathBuf,
      url: String,
    }

    impl Drop for Etcd {
      fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
      }
    }

    fn etcd_bin() -> Option<PathBuf> {
      if let Some(bin) = std::env::var_os("ETCD_BIN") {
        return Some(PathBuf::from(bin)).filter(|p| p.is_file());
      }
      let cached = Path::new(env!("CARGO_MANIFEST_DIR")).join(".etcd-cache/etcd-v3.5.1/etcd");
      cached.is_file().then_some(cached)
    }

    /// Two consecutive free loopback ports below the Linux ephemeral range (32768+), so that
    /// what the OS hands out to other sockets meanwhile cannot take them.
    fn free_ports() -> u16 {
      loop {
        let port = fastrand::u16(20000..32000);
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 1) {
          return port;
        }
      }
    }

    async fn start_etcd(bin: &Path) -> (Etcd, Rpc) {
      for _attempt in 0..3 {
        let port = free_ports();
        let dir = std::env::temp_dir().join(format!("etcd-napi-v3-{}-{}", std::process::id(), port));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("etcd.log")).unwrap();
        let client = format!("http://127.0.0.1:{port}");
        let peer = format!("http://127.0.0.1:{}", port + 1);
        let mut cmd = Command::new(bin);
        // etcd reads ETCD_* variables as flags: keep the caller's (ETCD_BIN included) away.
        for (name, _) in std::env::vars_os() {
          if name.to_string_lossy().starts_with("ETCD_") {
            cmd.env_remove(name);
          }
        }
        cmd.args(["--name", "napi-test", "--data-dir"])
          .arg(dir.join("data"))
          .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
          .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
          .args(["--initial-cluster", &format!("napi-test={peer}")])
          .args(["--unsafe-no-fsync", "--heartbeat-interval", "10", "--election-timeout", "100"])
          .args(["--log-level", "error"])
          .stdin(Stdio::null())
          .stdout(Stdio::null())
          .stderr(log);
        let child = cmd.spawn().expect("spawn etcd");
        let mut etcd = Etcd { child, dir, url: client };

        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
          if etcd.child.try_wait().unwrap().is_some() {
            let log = std::fs::read_to_string(etcd.dir.join("etcd.log")).unwrap_or_default();
            eprintln!("etcd exited early (port race?), retrying:\n{log}");
            break;
          }
          let endpoint = Endpoint::from_shared(etcd.url.clone()).unwrap().connect_timeout(Duration::from_millis(500));
          if let Ok(channel) = endpoint.connect().await {
            let rpc = Rpc::new(channel);
            let status = tokio::time::timeout(Duration::from_secs(2), rpc.maintenance_status(StatusRequest {})).await;
            if let Ok(Ok(status)) = status {
              if status.get_ref().leader != 0 {
                return (etcd, rpc);
              }
            }
          }
          tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if etcd.child.try_wait().unwrap().is_none() {
          panic!("etcd at {} did not become ready", etcd.url);
        }
      }
      panic!("could not start etcd");
    }

    /// Fails the test instead of hanging on a call that never completes.
    async fn within<F: std::future::Future>(fut: F) -> F::Output {
      tokio::time::timeout(Duration::from_secs(10), fut).await.expect("etcd call timed out")
    }

    fn prefix_end(prefix: &[u8]) -> Vec<u8> {
      let mut end = prefix.to_vec();
      *end.last_mut().unwrap() += 1;
      end
    }

    fn put(key: &str, value: &str) -> PutRequest {
      PutRequest { key: key.into(), value: value.into(), ..Default::default() }
    }

    fn get(key: &str) -> RangeRequest {
      RangeRequest { key: key.into(), ..Default::default() }
    }

    fn revision(header: &Option<ResponseHeader>) -> i64 {
      header.as_ref().expect("header").revision
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn against_etcd_3_5() {
      let Some(bin) = etcd_bin() else {
        eprintln!("skipped: no etcd binary (set ETCD_BIN or run `node testing/index.js install`)");
        return;
      };
      let (etcd, rpc) = start_etcd(&bin).await;

      kv(&rpc).await;
      txn(&rpc).await;
      lease(&rpc).await;
      watch(&rpc).await;
      cluster_and_maintenance(&rpc, &etcd.url).await;
      lock_and_election(&rpc).await;
      auth(&rpc).await;

      drop(etcd);
    }

    async fn kv(rpc: &Rpc) {
      for (k, v) in [("kv/a", "1"), ("kv/b", "2"), ("kv/c", "3"), ("kv0", "outside")] {
        within(rpc.kv_put(put(k, v))).await.unwrap();
      }
      let range = || RangeRequest { key: b"kv/".to_vec(), range_end: prefix_end(b"kv/"), ..Default::default() };

      let all = within(rpc.kv_range(range())).await.unwrap().into_inner();
      let keys: Vec<_> = all.kvs.iter().map(|kv| kv.key.as_slice()).collect();
      assert_eq!(keys, [&b"kv/a"[..], b"kv/b", b"kv/c"]);
      assert_eq!((all.count, all.more), (3, false));
      let a = &all.kvs[0];
      assert_eq!((a.value.as_slice(), a.version, a.lease), (&b"1"[..], 1, 0));
      assert_eq!(a.create_revision, a.mod_revision);
      assert!(all.header.as_ref().unwrap().revision >= all.kvs[2].mod_revision);

      let limited = within(rpc.kv_range(RangeRequest { limit: 1, ..range() })).await.unwrap().into_inner();
      assert_eq!((limited.kvs.len(), limited.count, limited.more), (1, 3, true));

      let counted = within(rpc.kv_range(RangeRequest { count_only: true, ..range() })).await.unwrap().into_inner();
      assert_eq!((counted.kvs.len(), counted.count), (0, 3));

      let by_value_desc = RangeRequest {
        sort_order: SortOrder::Descend as i32,
        sort_target: SortTarget::Value as i32,
        keys_only: true,
        ..range()
      };
      let sorted = within(rpc.kv_range(by_value_desc)).await.unwrap().into_inner();
      assert_eq!(sorted.kvs[0].key, b"kv/c");
      assert!(sorted.kvs[0].value.is_empty(), "keys_only");

      let newer = RangeRequest { serializable: true, min_mod_revision: a.mod_revision + 1, ..range() };
      let newer = within(rpc.kv_range(newer)).await.unwrap().into_inner();
      assert_eq!(newer.kvs.len(), 2);

      let old = within(rpc.kv_put(PutRequest { prev_kv: true, ..put("kv/a", "1b") })).await.unwrap().into_inner();
      assert_eq!(old.prev_kv.unwrap().value, b"1");
      let at_old_rev = within(rpc.kv_range(RangeRequest { revision: a.mod_revision, ..get("kv/a") })).await.unwrap();
      assert_eq!(at_old_rev.get_ref().kvs[0].value, b"1");

      let deleted = within(rpc.kv_delete_range(DeleteRangeRequest {
        key: b"kv/b".to_vec(),
        prev_kv: true,
        ..Default::default()
      }))
      .await
      .unwrap()
      .into_inner();
      assert_eq!(deleted.deleted, 1);
      assert_eq!(deleted.prev_kvs[0].value, b"2");

      // Server-side validation comes back as a gRPC status.
      let err = within(rpc.kv_range(RangeRequest::default())).await.unwrap_err();
      assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    }

    async fn txn(rpc: &Rpc) {
      let created = within(rpc.kv_put(put("tx/k", "v"))).await.unwrap().into_inner();
      let rev = revision(&created.header);
      let cmp = |target: CompareTarget, result: CompareResult, operand: CompareOperand| Compare {
        result: result as i32,
        target: target as i32,
        key: b"tx/k".to_vec(),
        target_union: Some(operand),
        range_end: vec![],
      };
      let then_ops = vec![
        RequestOp { request: Some(OpRequest::Put(put("tx/k", "v2"))) },
        RequestOp { request: Some(OpRequest::Range(get("tx/k"))) },
      ];
      let else_ops = vec![RequestOp { request: Some(OpRequest::Range(get("tx/k"))) }];
      let ok = within(rpc.kv_txn(TxnRequest {
        compare: vec![
          cmp(CompareTarget::Value, CompareResult::Equal, CompareOperand::Value(b"v".to_vec())),
          cmp(CompareTarget::Version, CompareResult::Equal, CompareOperand::Version(1)),
          cmp(CompareTarget::Create, CompareResult::Equal, CompareOperand::CreateRevision(rev)),
          cmp(CompareTarget::Mod, CompareResult::Equal, CompareOperand::ModRevision(rev)),
          cmp(CompareTarget::Lease, CompareResult::Equal, CompareOperand::Lease(0)),
          // Over a range: every key under tx/ has version > 0.
          Compare {
            range_end: prefix_end(b"tx/"),
            ..cmp(CompareTarget::Version, CompareResult::Greater, CompareOperand::Version(0))
          },
          // A missing key has version 0 (the zero operand must still be on the wire).
          Compare {
            key: b"tx/missing".to_vec(),
            ..cmp(CompareTarget::Version, CompareResult::Equal, CompareOperand::Version(0))
          },
        ],
        success: then_ops.clone(),
        failure: else_ops.clone(),
      }))
      .await
      .unwrap()
      .into_inner();
      assert!(ok.succeeded);
      assert_eq!(ok.responses.len(), 2);
      assert!(matches!(ok.responses[0].response, Some(OpResponse::Put(_))));
      match &ok.responses[1].response {
        Some(OpResponse::Range(r)) => assert_eq!(r.kvs[0].value, b"v2"),
        other => panic!("expected a range response, got {other:?}"),
      }

      let failed = within(rpc.kv_txn(TxnRequest {
        compare: vec![
          cmp(CompareTarget::Value, CompareResult::NotEqual, CompareOperand::Value(b"v2".to_vec())),
          cmp(CompareTarget::Mod, CompareResult::Less, CompareOperand::ModRevision(rev)),
        ],
        success: then_ops,
        failure: else_ops,
      }))
      .await
      .unwrap()
      .into_inner();
      assert!(!failed.succeeded);
      match &failed.responses[..] {
        [ResponseOp { response: Some(OpResponse::Range(r)) }] => assert_eq!(r.kvs[0].value, b"v2"),
        other => panic!("expected one range response, got {other:?}"),
      }
    }

    async fn lease(rpc: &Rpc) {
      let grant = within(rpc.lease_grant(LeaseGrantRequest { ttl: 30, id: 0 })).await.unwrap().into_inner();
      assert!(grant.id > 0 && grant.ttl == 30 && grant.error.is_empty(), "{grant:?}");
      let id = grant.id;
      within(rpc.kv_put(PutRequest { lease: id, ..put("lease/k", "v") })).await.unwrap();
      let got = within(rpc.kv_range(get("lease/k"))).await.unwrap().into_inner();
      assert_eq!(got.kvs[0].lease, id);

      let ttl = within(rpc.lease_time_to_live(LeaseTimeToLiveRequest { id, keys: true })).await.unwrap().into_inner();
      assert_eq!((ttl.id, ttl.granted_ttl), (id, 30));
      assert!(ttl.ttl > 0 && ttl.ttl <= 30);
      assert_eq!(ttl.keys, vec![b"lease/k".to_vec()]);

      let leases = within(rpc.lease_leases(LeaseLeasesRequest {})).await.unwrap().into_inner();
      assert!(leases.leases.iter().any(|l| l.id == id));

      let (tx, rx) = mpsc::channel(4);
      tx.send(LeaseKeepAliveRequest { id }).await.unwrap();
      let mut keepalive = within(rpc.lease_keep_alive(ReceiverStream::new(rx))).await.unwrap().into_inner();
      let renewed = within(keepalive.message()).await.unwrap().expect("keep-alive response");
      assert_eq!((renewed.id, renewed.ttl), (id, 30));
      drop(tx);

      within(rpc.lease_revoke(LeaseRevokeRequest { id })).await.unwrap();
      assert!(within(rpc.kv_range(get("lease/k"))).await.unwrap().get_ref().kvs.is_empty());
      let gone = within(rpc.lease_time_to_live(LeaseTimeToLiveRequest { id, keys: false })).await.unwrap();
      assert_eq!(gone.get_ref().ttl, -1);
    }

    async fn watch(rpc: &Rpc) {
      let (tx, rx) = mpsc::channel(4);
      let create = WatchCreateRequest {
        key: b"w/".to_vec(),
        range_end: prefix_end(b"w/"),
        prev_kv: true,
        ..Default::default()
      };
      tx.send(WatchRequest { request_union: Some(WatchOp::Create(create)) }).await.unwrap();
      let mut stream = within(rpc.watch(ReceiverStream::new(rx))).await.unwrap().into_inner();

      let created = within(stream.message()).await.unwrap().expect("created");
      assert!(created.created && !created.canceled && created.events.is_empty(), "{created:?}");
      let watch_id = created.watch_id;

      within(rpc.kv_put(put("w/x", "1"))).await.unwrap();
      within(rpc.kv_put(put("w/x", "2"))).await.unwrap();
      within(rpc.kv_delete_range(DeleteRangeRequest { key: b"w/x".to_vec(), ..Default::default() })).await.unwrap();
      let mut events = vec![];
      while events.len() < 3 {
        let resp = within(stream.message()).await.unwrap().expect("events");
        assert_eq!(resp.watch_id, watch_id);
        events.extend(resp.events);
      }
      assert_eq!(events[0].r#type(), EventType::Put);
      assert_eq!(events[0].kv.as_ref().unwrap().value, b"1");
      assert_eq!(events[1].prev_kv.as_ref().unwrap().value, b"1");
      assert_eq!(events[2].r#type(), EventType::Delete);
      let deleted = events[2].kv.as_ref().unwrap();
      assert_eq!((deleted.key.as_slice(), deleted.version), (&b"w/x"[..], 0));

      tx.send(WatchRequest { request_union: Some(WatchOp::Cancel(WatchCancelRequest { watch_id })) })
        .await
        .unwrap();
      let canceled = within(stream.message()).await.unwrap().expect("canceled");
      assert!(canceled.canceled && canceled.watch_id == watch_id, "{canceled:?}");
      drop(tx);
    }

    async fn cluster_and_maintenance(rpc: &Rpc, url: &str) {
      let list = MemberListRequest { linearizable: true };
      let members = within(rpc.cluster_member_list(list)).await.unwrap().into_inner();
      assert_eq!(members.members.len(), 1);
      let me = &members.members[0];
      assert_eq!((me.name.as_str(), me.is_learner), ("napi-test", false));
      assert_eq!(me.client_urls, [url.to_string()]);
      assert_eq!(me.id, members.header.as_ref().unwrap().member_id);

      let status = within(rpc.maintenance_status(StatusRequest {})).await.unwrap().into_inner();
      assert!(status.version.starts_with("3."), "{status:?}");
      assert_eq!(status.leader, me.id);
      assert!(status.db_size > 0 && status.raft_index > 0 && status.errors.is_empty());

      let alarms = within(rpc.maintenance_alarm(AlarmRequest::default())).await.unwrap().into_inner();
      assert!(alarms.alarms.is_empty());

      let auth = within(rpc.auth_status(AuthStatusRequest {})).await.unwrap().into_inner();
      assert!(!auth.enabled);

      let rev = revision(&within(rpc.kv_range(get("any"))).await.unwrap().into_inner().header);
      within(rpc.kv_compact(CompactionRequest { revision: rev, physical: true })).await.unwrap();
      let hash = within(rpc.maintenance_hash_kv(HashKvRequest { revision: 0 })).await.unwrap().into_inner();
      assert_eq!(hash.compact_revision, rev);
      let err = within(rpc.kv_range(RangeRequest { revision: rev - 1, ..get("kv/a") })).await.unwrap_err();
      assert_eq!(err.code(), Code::OutOfRange, "{err:?}");

      let mut snapshot = within(rpc.maintenance_snapshot(SnapshotRequest {})).await.unwrap().into_inner();
      let mut size = 0;
      while let Some(chunk) = within(snapshot.message()).await.unwrap() {
        size += chunk.blob.len();
        if chunk.remaining_bytes == 0 {
          break;
        }
      }
      assert!(size > 0);
    }

    async fn lock_and_election(rpc: &Rpc) {
      let lease = within(rpc.lease_grant(LeaseGrantRequest { ttl: 10, id: 0 })).await.unwrap().into_inner().id;

      let locked = within(rpc.lock_lock(LockRequest { name: b"lk".to_vec(), lease })).await.unwrap().into_inner();
      assert!(locked.key.starts_with(b"lk/"), "{locked:?}");
      let held = within(rpc.kv_range(RangeRequest { key: locked.key.clone(), ..Default::default() })).await.unwrap();
      assert_eq!(held.get_ref().kvs[0].lease, lease);
      within(rpc.lock_unlock(UnlockRequest { key: locked.key.clone() })).await.unwrap();
      let released = within(rpc.kv_range(RangeRequest { key: locked.key, ..Default::default() })).await.unwrap();
      assert!(released.get_ref().kvs.is_empty());

      let campaign = CampaignRequest { name: b"el".to_vec(), lease, value: b"v1".to_vec() };
      let leader = within(rpc.election_campaign(campaign)).await.unwrap().into_inner().leader.expect("leader key");
      assert_eq!((leader.name.as_slice(), leader.lease), (&b"el"[..], lease));
      let current = within(rpc.election_leader(LeaderRequest { name: b"el".to_vec() })).await.unwrap().into_inner();
      let kv = current.kv.expect("leader kv");
      assert_eq!((&kv.key, kv.value.as_slice(), kv.create_revision), (&leader.key, &b"v1"[..], leader.rev));

      let proclaim = ProclaimRequest { leader: Some(leader.clone()), value: b"v2".to_vec() };
      within(rpc.election_proclaim(proclaim)).await.unwrap();
      let observe = within(rpc.election_observe(LeaderRequest { name: b"el".to_vec() })).await.unwrap();
      let mut observe = observe.into_inner();
      let seen = within(observe.message()).await.unwrap().expect("observed leader");
      assert_eq!(seen.kv.unwrap().value, b"v2");
      drop(observe);

      within(rpc.election_resign(ResignRequest { leader: Some(leader) })).await.unwrap();
      let none = within(rpc.election_leader(LeaderRequest { name: b"el".to_vec() })).await;
      assert!(none.is_err(), "no leader after resigning: {none:?}");
      within(rpc.lease_revoke(LeaseRevokeRequest { id: lease })).await.unwrap();
    }

    /// With auth on, calls carry the token from Authenticate as `token` metadata.
    async fn auth(rpc: &Rpc) {
      fn ok<R>(result: Result<R, Status>) -> R {
        result.unwrap()
      }
      fn with_token<M>(token: &str, message: M) -> tonic::Request<M> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert("token", token.parse().unwrap());
        request
      }
      ok(within(rpc.auth_role_add(AuthRoleAddRequest { name: "root".into() })).await);
      let root = AuthUserAddRequest { name: "root".into(), password: "rootpw".into(), ..Default::default() };
      ok(within(rpc.auth_user_add(root)).await);
      ok(within(rpc.auth_user_grant_role(AuthUserGrantRoleRequest { user: "root".into(), role: "root".into() })).await);

      ok(within(rpc.auth_role_add(AuthRoleAddRequest { name: "reader".into() })).await);
      let (key, range_end) = (b"kv/".to_vec(), prefix_end(b"kv/"));
      let perm = Permission { perm_type: PermissionType::Read as i32, key: key.clone(), range_end: range_end.clone() };
      let grant = AuthRoleGrantPermissionRequest { name: "reader".into(), perm: Some(perm.clone()) };
      ok(within(rpc.auth_role_grant_permission(grant)).await);
      let alice = AuthUserAddRequest { name: "alice".into(), password: "pw".into(), ..Default::default() };
      ok(within(rpc.auth_user_add(alice)).await);
      let alice_reads = AuthUserGrantRoleRequest { user: "alice".into(), role: "reader".into() };
      ok(within(rpc.auth_user_grant_role(alice_reads)).await);

      let role = ok(within(rpc.auth_role_get(AuthRoleGetRequest { role: "reader".into() })).await).into_inner();
      assert_eq!(role.perm, [perm]);
      let user = ok(within(rpc.auth_user_get(AuthUserGetRequest { name: "alice".into() })).await).into_inner();
      assert_eq!(user.roles, ["reader"]);
      let users = ok(within(rpc.auth_user_list(AuthUserListRequest {})).await).into_inner();
      assert_eq!(users.users, ["alice", "root"]);
      let roles = ok(within(rpc.auth_role_list(AuthRoleListRequest {})).await).into_inner();
      assert_eq!(roles.roles, ["reader", "root"]);

      ok(within(rpc.auth_enable(AuthEnableRequest {})).await);
      let login = |name: &str, password: &str| AuthenticateRequest { name: name.into(), password: password.into() };
      let bad = within(rpc.auth_authenticate(login("alice", "wrong"))).await.unwrap_err();
      assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
      let token = ok(within(rpc.auth_authenticate(login("alice", "pw"))).await).into_inner().token;
      assert!(!token.is_empty());

      assert!(within(rpc.kv_range(get("kv/a"))).await.is_err(), "no token");
      let read = ok(within(rpc.kv_range(with_token(&token, get("kv/a")))).await).into_inner();
      assert_eq!(read.kvs[0].value, b"1b");
      let denied = within(rpc.kv_put(with_token(&token, put("kv/a", "x")))).await.unwrap_err();
      assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

      let root_token = ok(within(rpc.auth_authenticate(login("root", "rootpw"))).await).into_inner().token;
      let status = ok(within(rpc.auth_status(with_token(&root_token, AuthStatusRequest {}))).await).into_inner();
      assert!(status.enabled && status.auth_revision > 0);
      ok(within(rpc.auth_disable(with_token(&root_token, AuthDisableRequest {}))).await);

      let revoke = AuthRoleRevokePermissionRequest { role: "reader".into(), key, range_end };
      ok(within(rpc.auth_role_revoke_permission(revoke)).await);
      let change = AuthUserChangePasswordRequest { name: "alice".into(), password: "pw2".into(), ..Default::default() };
      ok(within(rpc.auth_user_change_password(change)).await);
      let alice_stops = AuthUserRevokeRoleRequest { name: "alice".into(), role: "reader".into() };
      ok(within(rpc.auth_user_revoke_role(alice_stops)).await);
      ok(within(rpc.auth_user_delete(AuthUserDeleteRequest { name: "alice".into() })).await);
      ok(within(rpc.auth_role_delete(AuthRoleDeleteRequest { role: "reader".into() })).await);
      assert!(!ok(within(rpc.auth_status(AuthStatusRequest {})).await).into_inner().enabled);
    }
  }
}
