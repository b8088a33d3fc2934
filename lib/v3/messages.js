'use strict'
// Schemas of etcd's v3 API messages for our protobuf codec (./protobuf.js), plus the table of gRPC
// methods. Field names, numbers and types follow etcd's .proto files (packages mvccpb, authpb,
// etcdserverpb, v3lockpb, v3electionpb); src/v3/proto.rs has the same messages for the Rust side.
//
// Message names share one flat namespace (they do not clash across etcd's packages); `package`
// gives the full protobuf name. Enum value names are those of etcd3@1.1.2's .proto (PascalCase,
// e.g. `Put`, `Ascend`, `NotEqual`), not etcd's upper-case ones, since decoded objects must equal
// what etcd3 returns.
//
// Fields flagged `ext` exist in newer etcd releases but not in etcd3@1.1.2's .proto: they can be
// sent, and they are decoded when a server sends them, but they get no default, so objects from
// servers that never send them have exactly etcd3's shape.

const { compile } = require('./protobuf')

const R = { repeated: true }
const ext = { ext: true }
const oneof = (name) => ({ oneof: name })

// Every response starts with the header.
const HEADER = ['header', 1, 'ResponseHeader']
const headerOnly = (pkg = 'etcdserverpb') => ({ package: pkg, fields: [HEADER] })
const empty = (pkg = 'etcdserverpb') => ({ package: pkg, fields: [] })

const enums = {
  // mvccpb.Event.EventType
  EventType: ['Put', 'Delete'],
  // authpb.Permission.Type
  PermissionType: ['Read', 'Write', 'Readwrite'],
  // etcdserverpb.RangeRequest.SortOrder / SortTarget
  SortOrder: ['None', 'Ascend', 'Descend'],
  SortTarget: ['Key', 'Version', 'Create', 'Mod', 'Value'],
  // etcdserverpb.Compare.CompareResult / CompareTarget (numbered differently from SortTarget)
  CompareResult: ['Equal', 'Greater', 'Less', 'NotEqual'],
  CompareTarget: ['Version', 'Create', 'Mod', 'Value', 'Lease'],
  // etcdserverpb.WatchCreateRequest.FilterType
  FilterType: ['Noput', 'Nodelete'],
  // etcdserverpb.AlarmType (package level) and AlarmRequest.AlarmAction
  AlarmType: ['None', 'Nospace', 'Corrupt'],
  AlarmAction: ['Get', 'Activate', 'Deactivate'],
  // etcdserverpb.DowngradeRequest.DowngradeAction
  DowngradeAction: ['Validate', 'Enable', 'Cancel'],
}

const messages = {
  // ---------------------------------------------------------------------------------------------
  // mvccpb
  KeyValue: {
    package: 'mvccpb',
    fields: [
      ['key', 1, 'bytes'],
      ['create_revision', 2, 'int64'],
      ['mod_revision', 3, 'int64'],
      ['version', 4, 'int64'],
      ['value', 5, 'bytes'],
      ['lease', 6, 'int64'],
    ],
  },
  Event: {
    package: 'mvccpb',
    fields: [
      ['type', 1, 'EventType'],
      ['kv', 2, 'KeyValue'],
      ['prev_kv', 3, 'KeyValue'],
    ],
  },

  // ---------------------------------------------------------------------------------------------
  // authpb
  UserAddOptions: { package: 'authpb', fields: [['no_password', 1, 'bool']] },
  User: {
    package: 'authpb',
    fields: [
      ['name', 1, 'bytes'],
      ['password', 2, 'bytes'],
      ['roles', 3, 'string', R],
      ['options', 4, 'UserAddOptions'],
    ],
  },
  Permission: {
    package: 'authpb',
    fields: [
      ['permType', 1, 'PermissionType'],
      ['key', 2, 'bytes'],
      ['range_end', 3, 'bytes'],
    ],
  },
  Role: {
    package: 'authpb',
    fields: [
      ['name', 1, 'bytes'],
      ['keyPermission', 2, 'Permission', R],
    ],
  },

  // ---------------------------------------------------------------------------------------------
  // etcdserverpb: header and KV
  ResponseHeader: {
    package: 'etcdserverpb',
    fields: [
      ['cluster_id', 1, 'uint64'],
      ['member_id', 2, 'uint64'],
      ['revision', 3, 'int64'],
      ['raft_term', 4, 'uint64'],
    ],
  },
  RangeRequest: {
    package: 'etcdserverpb',
    fields: [
      ['key', 1, 'bytes'],
      ['range_end', 2, 'bytes'],
      ['limit', 3, 'int64'],
      ['revision', 4, 'int64'],
      ['sort_order', 5, 'SortOrder'],
      ['sort_target', 6, 'SortTarget'],
      ['serializable', 7, 'bool'],
      ['keys_only', 8, 'bool'],
      ['count_only', 9, 'bool'],
      ['min_mod_revision', 10, 'int64'],
      ['max_mod_revision', 11, 'int64'],
      ['min_create_revision', 12, 'int64'],
      ['max_create_revision', 13, 'int64'],
    ],
  },
  RangeResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['kvs', 2, 'KeyValue', R],
      ['more', 3, 'bool'],
      ['count', 4, 'int64'],
    ],
  },
  PutRequest: {
    package: 'etcdserverpb',
    fields: [
      ['key', 1, 'bytes'],
      ['value', 2, 'bytes'],
      ['lease', 3, 'int64'],
      ['prev_kv', 4, 'bool'],
      ['ignore_value', 5, 'bool'],
      ['ignore_lease', 6, 'bool'],
    ],
  },
  PutResponse: {
    package: 'etcdserverpb',
    fields: [HEADER, ['prev_kv', 2, 'KeyValue']],
  },
  DeleteRangeRequest: {
    package: 'etcdserverpb',
    fields: [
      ['key', 1, 'bytes'],
      ['range_end', 2, 'bytes'],
      ['prev_kv', 3, 'bool'],
    ],
  },
  DeleteRangeResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['deleted', 2, 'int64'],
      ['prev_kvs', 3, 'KeyValue', R],
    ],
  },
  RequestOp: {
    package: 'etcdserverpb',
    fields: [
      ['request_range', 1, 'RangeRequest', oneof('request')],
      ['request_put', 2, 'PutRequest', oneof('request')],
      ['request_delete_range', 3, 'DeleteRangeRequest', oneof('request')],
      ['request_txn', 4, 'TxnRequest', oneof('request')],
    ],
  },
  ResponseOp: {
    package: 'etcdserverpb',
    fields: [
      ['response_range', 1, 'RangeResponse', oneof('response')],
      ['response_put', 2, 'PutResponse', oneof('response')],
      ['response_delete_range', 3, 'DeleteRangeResponse', oneof('response')],
      ['response_txn', 4, 'TxnResponse', oneof('response')],
    ],
  },
  Compare: {
    package: 'etcdserverpb',
    fields: [
      ['result', 1, 'CompareResult'],
      ['target', 2, 'CompareTarget'],
      ['key', 3, 'bytes'],
      ['version', 4, 'int64', oneof('target_union')],
      ['create_revision', 5, 'int64', oneof('target_union')],
      ['mod_revision', 6, 'int64', oneof('target_union')],
      ['value', 7, 'bytes', oneof('target_union')],
      ['lease', 8, 'int64', oneof('target_union')],
      ['range_end', 64, 'bytes'], // two-byte key 82 04
    ],
  },
  TxnRequest: {
    package: 'etcdserverpb',
    fields: [
      ['compare', 1, 'Compare', R],
      ['success', 2, 'RequestOp', R],
      ['failure', 3, 'RequestOp', R],
    ],
  },
  TxnResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['succeeded', 2, 'bool'],
      ['responses', 3, 'ResponseOp', R],
    ],
  },
  CompactionRequest: {
    package: 'etcdserverpb',
    fields: [
      ['revision', 1, 'int64'],
      ['physical', 2, 'bool'],
    ],
  },
  CompactionResponse: headerOnly(),

  // ---------------------------------------------------------------------------------------------
  // etcdserverpb: Watch
  WatchRequest: {
    package: 'etcdserverpb',
    fields: [
      ['create_request', 1, 'WatchCreateRequest', oneof('request_union')],
      ['cancel_request', 2, 'WatchCancelRequest', oneof('request_union')],
      ['progress_request', 3, 'WatchProgressRequest', oneof('request_union')],
    ],
  },
  WatchCreateRequest: {
    package: 'etcdserverpb',
    fields: [
      ['key', 1, 'bytes'],
      ['range_end', 2, 'bytes'],
      ['start_revision', 3, 'int64'],
      ['progress_notify', 4, 'bool'],
      ['filters', 5, 'FilterType', R], // packed
      ['prev_kv', 6, 'bool'],
      ['watch_id', 7, 'int64'],
      ['fragment', 8, 'bool'],
    ],
  },
  WatchCancelRequest: { package: 'etcdserverpb', fields: [['watch_id', 1, 'int64']] },
  WatchProgressRequest: empty(),
  WatchResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['watch_id', 2, 'int64'],
      ['created', 3, 'bool'],
      ['canceled', 4, 'bool'],
      ['compact_revision', 5, 'int64'],
      ['cancel_reason', 6, 'string'],
      ['fragment', 7, 'bool'],
      ['events', 11, 'Event', R], // 8-10 unused
    ],
  },

  // ---------------------------------------------------------------------------------------------
  // etcdserverpb: Lease
  LeaseGrantRequest: {
    package: 'etcdserverpb',
    fields: [
      ['TTL', 1, 'int64'],
      ['ID', 2, 'int64'],
    ],
  },
  LeaseGrantResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['ID', 2, 'int64'],
      ['TTL', 3, 'int64'],
      ['error', 4, 'string'],
    ],
  },
  LeaseRevokeRequest: { package: 'etcdserverpb', fields: [['ID', 1, 'int64']] },
  LeaseRevokeResponse: headerOnly(),
  LeaseKeepAliveRequest: { package: 'etcdserverpb', fields: [['ID', 1, 'int64']] },
  LeaseKeepAliveResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['ID', 2, 'int64'],
      ['TTL', 3, 'int64'],
    ],
  },
  LeaseTimeToLiveRequest: {
    package: 'etcdserverpb',
    fields: [
      ['ID', 1, 'int64'],
      ['keys', 2, 'bool'],
    ],
  },
  LeaseTimeToLiveResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['ID', 2, 'int64'],
      ['TTL', 3, 'int64'],
      ['grantedTTL', 4, 'int64'],
      ['keys', 5, 'bytes', R],
    ],
  },
  LeaseLeasesRequest: empty(),
  LeaseStatus: { package: 'etcdserverpb', fields: [['ID', 1, 'int64']] },
  LeaseLeasesResponse: {
    package: 'etcdserverpb',
    fields: [HEADER, ['leases', 2, 'LeaseStatus', R]],
  },

  // ---------------------------------------------------------------------------------------------
  // etcdserverpb: Cluster
  Member: {
    package: 'etcdserverpb',
    fields: [
      ['ID', 1, 'uint64'],
      ['name', 2, 'string'],
      ['peerURLs', 3, 'string', R],
      ['clientURLs', 4, 'string', R],
      ['isLearner', 5, 'bool'],
    ],
  },
  MemberAddRequest: {
    package: 'etcdserverpb',
    fields: [
      ['peerURLs', 1, 'string', R],
      ['isLearner', 2, 'bool'],
    ],
  },
  MemberAddResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['member', 2, 'Member'],
      ['members', 3, 'Member', R],
    ],
  },
  MemberRemoveRequest: { package: 'etcdserverpb', fields: [['ID', 1, 'uint64']] },
  MemberRemoveResponse: { package: 'etcdserverpb', fields: [HEADER, ['members', 2, 'Member', R]] },
  MemberUpdateRequest: {
    package: 'etcdserverpb',
    fields: [
      ['ID', 1, 'uint64'],
      ['peerURLs', 2, 'string', R],
    ],
  },
  MemberUpdateResponse: { package: 'etcdserverpb', fields: [HEADER, ['members', 2, 'Member', R]] },
  MemberListRequest: { package: 'etcdserverpb', fields: [['linearizable', 1, 'bool']] },
  MemberListResponse: { package: 'etcdserverpb', fields: [HEADER, ['members', 2, 'Member', R]] },
  MemberPromoteRequest: { package: 'etcdserverpb', fields: [['ID', 1, 'uint64']] },
  MemberPromoteResponse: { package: 'etcdserverpb', fields: [HEADER, ['members', 2, 'Member', R]] },

  // ---------------------------------------------------------------------------------------------
  // etcdserverpb: Maintenance
  AlarmRequest: {
    package: 'etcdserverpb',
    fields: [
      ['action', 1, 'AlarmAction'],
      ['memberID', 2, 'uint64'],
      ['alarm', 3, 'AlarmType'],
    ],
  },
  AlarmMember: {
    package: 'etcdserverpb',
    fields: [
      ['memberID', 1, 'uint64'],
      ['alarm', 2, 'AlarmType'],
    ],
  },
  AlarmResponse: { package: 'etcdserverpb', fields: [HEADER, ['alarms', 2, 'AlarmMember', R]] },
  StatusRequest: empty(),
  StatusResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['version', 2, 'string'],
      ['dbSize', 3, 'int64'],
      ['leader', 4, 'uint64'],
      ['raftIndex', 5, 'uint64'],
      ['raftTerm', 6, 'uint64'],
      ['raftAppliedIndex', 7, 'uint64'],
      ['errors', 8, 'string', R],
      ['dbSizeInUse', 9, 'int64'],
      ['isLearner', 10, 'bool'],
      ['storageVersion', 11, 'string', ext], // etcd 3.6+
      ['dbSizeQuota', 12, 'int64', ext], // etcd 3.6+
      ['downgradeInfo', 13, 'DowngradeInfo', ext], // etcd 3.6+
    ],
  },
  DowngradeInfo: {
    package: 'etcdserverpb',
    fields: [
      ['enabled', 1, 'bool'],
      ['targetVersion', 2, 'string'],
    ],
  },
  DefragmentRequest: empty(),
  DefragmentResponse: headerOnly(),
  HashRequest: empty(),
  HashResponse: {
    package: 'etcdserverpb',
    fields: [HEADER, ['hash', 2, 'uint32']],
  },
  HashKVRequest: { package: 'etcdserverpb', fields: [['revision', 1, 'int64']] },
  HashKVResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['hash', 2, 'uint32'],
      ['compact_revision', 3, 'int64'],
      ['hash_revision', 4, 'int64', ext], // etcd 3.6+
    ],
  },
  SnapshotRequest: empty(),
  SnapshotResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['remaining_bytes', 2, 'uint64'],
      ['blob', 3, 'bytes'],
      ['version', 4, 'string', ext], // etcd 3.6+
    ],
  },
  MoveLeaderRequest: { package: 'etcdserverpb', fields: [['targetID', 1, 'uint64']] },
  MoveLeaderResponse: headerOnly(),
  DowngradeRequest: {
    package: 'etcdserverpb',
    fields: [
      ['action', 1, 'DowngradeAction'],
      ['version', 2, 'string'],
    ],
  },
  DowngradeResponse: {
    package: 'etcdserverpb',
    fields: [HEADER, ['version', 2, 'string']],
  },

  // ---------------------------------------------------------------------------------------------
  // etcdserverpb: Auth. Some requests call the user or role `name`, others `user` or `role`.
  AuthEnableRequest: empty(),
  AuthEnableResponse: headerOnly(),
  AuthDisableRequest: empty(),
  AuthDisableResponse: headerOnly(),
  AuthStatusRequest: empty(),
  AuthStatusResponse: {
    package: 'etcdserverpb',
    fields: [
      HEADER,
      ['enabled', 2, 'bool'],
      ['authRevision', 3, 'uint64'],
    ],
  },
  AuthenticateRequest: {
    package: 'etcdserverpb',
    fields: [
      ['name', 1, 'string'],
      ['password', 2, 'string'],
    ],
  },
  AuthenticateResponse: {
    package: 'etcdserverpb',
    fields: [HEADER, ['token', 2, 'string']],
  },
  AuthUserAddRequest: {
    package: 'etcdserverpb',
    fields: [
      ['name', 1, 'string'],
      ['password', 2, 'string'],
      ['options', 3, 'UserAddOptions'],
      ['hashedPassword', 4, 'string', ext], // etcd 3.5+
    ],
  },
  AuthUserAddResponse: headerOnly(),
  AuthUserGetRequest: { package: 'etcdserverpb', fields: [['name', 1, 'string']] },
  AuthUserGetResponse: {
    package: 'etcdserverpb',
    fields: [HEADER, ['roles', 2, 'string', R]],
  },
  AuthUserListRequest: empty(),
  AuthUserListResponse: {
    package: 'etcdserverpb',
    fields: [HEADER, ['users', 2, 'string', R]],
  },
  AuthUserDeleteRequest: { package: 'etcdserverpb', fields: [['name', 1, 'string']] },
  AuthUserDeleteResponse: headerOnly(),
  AuthUserChangePasswordRequest: {
    package: 'etcdserverpb',
    fields: [
      ['name', 1, 'string'],
      ['password', 2, 'string'],
      ['hashedPassword', 3, 'string', ext], // etcd 3.5+
    ],
  },
  AuthUserChangePasswordResponse: headerOnly(),
  AuthUserGrantRoleRequest: {
    package: 'etcdserverpb',
    fields: [
      ['user', 1, 'string'],
      ['role', 2, 'string'],
    ],
  },
  AuthUserGrantRoleResponse: headerOnly(),
  AuthUserRevokeRoleRequest: {
    package: 'etcdserverpb',
    fields: [
      ['name', 1, 'string'],
      ['role', 2, 'string'],
    ],
  },
  AuthUserRevokeRoleResponse: headerOnly(),
  AuthRoleAddRequest: { package: 'etcdserverpb', fields: [['name', 1, 'string']] },
  AuthRoleAddResponse: headerOnly(),
  AuthRoleGetRequest: { package: 'etcdserverpb', fields: [['role', 1, 'string']] },
  AuthRoleGetResponse: {
    package: 'etcdserverpb',
    fields: [HEADER, ['perm', 2, 'Permission', R]],
  },
  AuthRoleListRequest: empty(),
  AuthRoleListResponse: {
    package: 'etcdserverpb',
    fields: [HEADER, ['roles', 2, 'string', R]],
  },
  AuthRoleDeleteRequest: { package: 'etcdserverpb', fields: [['role', 1, 'string']] },
  AuthRoleDeleteResponse: headerOnly(),
  AuthRoleGrantPermissionRequest: {
    package: 'etcdserverpb',
    fields: [
      ['name', 1, 'string'],
      ['perm', 2, 'Permission'],
    ],
  },
  AuthRoleGrantPermissionResponse: headerOnly(),
  AuthRoleRevokePermissionRequest: {
    package: 'etcdserverpb',
    fields: [
      ['role', 1, 'string'],
      ['key', 2, 'bytes'],
      ['range_end', 3, 'bytes'],
    ],
  },
  AuthRoleRevokePermissionResponse: headerOnly(),

  // ---------------------------------------------------------------------------------------------
  // v3lockpb
  LockRequest: {
    package: 'v3lockpb',
    fields: [
      ['name', 1, 'bytes'],
      ['lease', 2, 'int64'],
    ],
  },
  LockResponse: {
    package: 'v3lockpb',
    fields: [HEADER, ['key', 2, 'bytes']],
  },
  UnlockRequest: { package: 'v3lockpb', fields: [['key', 1, 'bytes']] },
  UnlockResponse: headerOnly('v3lockpb'),

  // ---------------------------------------------------------------------------------------------
  // v3electionpb
  LeaderKey: {
    package: 'v3electionpb',
    fields: [
      ['name', 1, 'bytes'],
      ['key', 2, 'bytes'],
      ['rev', 3, 'int64'],
      ['lease', 4, 'int64'],
    ],
  },
  CampaignRequest: {
    package: 'v3electionpb',
    fields: [
      ['name', 1, 'bytes'],
      ['lease', 2, 'int64'],
      ['value', 3, 'bytes'],
    ],
  },
  CampaignResponse: {
    package: 'v3electionpb',
    fields: [HEADER, ['leader', 2, 'LeaderKey']],
  },
  ProclaimRequest: {
    package: 'v3electionpb',
    fields: [
      ['leader', 1, 'LeaderKey'],
      ['value', 2, 'bytes'],
    ],
  },
  ProclaimResponse: headerOnly('v3electionpb'),
  LeaderRequest: { package: 'v3electionpb', fields: [['name', 1, 'bytes']] },
  LeaderResponse: {
    package: 'v3electionpb',
    fields: [HEADER, ['kv', 2, 'KeyValue']],
  },
  ResignRequest: { package: 'v3electionpb', fields: [['leader', 1, 'LeaderKey']] },
  ResignResponse: headerOnly('v3electionpb'),
}

// gRPC methods: service -> method -> [request, response, requestStream, responseStream].
const SERVICES = {
  'etcdserverpb.KV': {
    Range: ['RangeRequest', 'RangeResponse'],
    Put: ['PutRequest', 'PutResponse'],
    DeleteRange: ['DeleteRangeRequest', 'DeleteRangeResponse'],
    Txn: ['TxnRequest', 'TxnResponse'],
    Compact: ['CompactionRequest', 'CompactionResponse'],
  },
  'etcdserverpb.Watch': {
    Watch: ['WatchRequest', 'WatchResponse', true, true],
  },
  'etcdserverpb.Lease': {
    LeaseGrant: ['LeaseGrantRequest', 'LeaseGrantResponse'],
    LeaseRevoke: ['LeaseRevokeRequest', 'LeaseRevokeResponse'],
    LeaseKeepAlive: ['LeaseKeepAliveRequest', 'LeaseKeepAliveResponse', true, true],
    LeaseTimeToLive: ['LeaseTimeToLiveRequest', 'LeaseTimeToLiveResponse'],
    LeaseLeases: ['LeaseLeasesRequest', 'LeaseLeasesResponse'],
  },
  'etcdserverpb.Cluster': {
    MemberAdd: ['MemberAddRequest', 'MemberAddResponse'],
    MemberRemove: ['MemberRemoveRequest', 'MemberRemoveResponse'],
    MemberUpdate: ['MemberUpdateRequest', 'MemberUpdateResponse'],
    MemberList: ['MemberListRequest', 'MemberListResponse'],
    MemberPromote: ['MemberPromoteRequest', 'MemberPromoteResponse'],
  },
  'etcdserverpb.Maintenance': {
    Alarm: ['AlarmRequest', 'AlarmResponse'],
    Status: ['StatusRequest', 'StatusResponse'],
    Defragment: ['DefragmentRequest', 'DefragmentResponse'],
    Hash: ['HashRequest', 'HashResponse'],
    HashKV: ['HashKVRequest', 'HashKVResponse'],
    Snapshot: ['SnapshotRequest', 'SnapshotResponse', false, true],
    MoveLeader: ['MoveLeaderRequest', 'MoveLeaderResponse'],
    Downgrade: ['DowngradeRequest', 'DowngradeResponse'],
  },
  'etcdserverpb.Auth': {
    AuthEnable: ['AuthEnableRequest', 'AuthEnableResponse'],
    AuthDisable: ['AuthDisableRequest', 'AuthDisableResponse'],
    AuthStatus: ['AuthStatusRequest', 'AuthStatusResponse'],
    Authenticate: ['AuthenticateRequest', 'AuthenticateResponse'],
    UserAdd: ['AuthUserAddRequest', 'AuthUserAddResponse'],
    UserGet: ['AuthUserGetRequest', 'AuthUserGetResponse'],
    UserList: ['AuthUserListRequest', 'AuthUserListResponse'],
    UserDelete: ['AuthUserDeleteRequest', 'AuthUserDeleteResponse'],
    UserChangePassword: ['AuthUserChangePasswordRequest', 'AuthUserChangePasswordResponse'],
    UserGrantRole: ['AuthUserGrantRoleRequest', 'AuthUserGrantRoleResponse'],
    UserRevokeRole: ['AuthUserRevokeRoleRequest', 'AuthUserRevokeRoleResponse'],
    RoleAdd: ['AuthRoleAddRequest', 'AuthRoleAddResponse'],
    RoleGet: ['AuthRoleGetRequest', 'AuthRoleGetResponse'],
    RoleList: ['AuthRoleListRequest', 'AuthRoleListResponse'],
    RoleDelete: ['AuthRoleDeleteRequest', 'AuthRoleDeleteResponse'],
    RoleGrantPermission: ['AuthRoleGrantPermissionRequest', 'AuthRoleGrantPermissionResponse'],
    RoleRevokePermission: ['AuthRoleRevokePermissionRequest', 'AuthRoleRevokePermissionResponse'],
  },
  'v3lockpb.Lock': {
    Lock: ['LockRequest', 'LockResponse'],
    Unlock: ['UnlockRequest', 'UnlockResponse'],
  },
  'v3electionpb.Election': {
    Campaign: ['CampaignRequest', 'CampaignResponse'],
    Proclaim: ['ProclaimRequest', 'ProclaimResponse'],
    Leader: ['LeaderRequest', 'LeaderResponse'],
    Observe: ['LeaderRequest', 'LeaderResponse', false, true],
    Resign: ['ResignRequest', 'ResignResponse'],
  },
}

const schema = { messages, enums }
const codec = compile(schema)

// methods.KV.Range = { service, name, path: '/etcdserverpb.KV/Range', request: 'RangeRequest',
//   response: 'RangeResponse', requestStream, responseStream, requestType, responseType }
// (requestType/responseType are the compiled types, with encode/decode).
// paths.KV.Range = '/etcdserverpb.KV/Range'
const methods = {}
const paths = {}
for (const [service, defs] of Object.entries(SERVICES)) {
  const short = service.slice(service.indexOf('.') + 1)
  methods[short] = {}
  paths[short] = {}
  for (const [name, [request, response, requestStream = false, responseStream = false]] of Object.entries(defs)) {
    const path = `/${service}/${name}`
    methods[short][name] = Object.freeze({
      service,
      name,
      path,
      request,
      response,
      requestStream,
      responseStream,
      requestType: codec.types[request],
      responseType: codec.types[response],
    })
    paths[short][name] = path
  }
  Object.freeze(methods[short])
  Object.freeze(paths[short])
}

module.exports = {
  schema,
  types: codec.types,
  encode: codec.encode,
  decode: codec.decode,
  methods: Object.freeze(methods),
  paths: Object.freeze(paths),
}
