//! The v3 engine under `Etcd3`: one HTTP/2 channel per member (connected lazily, multiplexing
//! every call), Go clientv3's retry rule, auth tokens, and deadlines. Calls move encoded protobuf
//! messages: the JS facade owns the message shapes (as it owns JSON parsing for v2).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use tokio_util::sync::CancellationToken;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

use super::proto::{AuthenticateRequest, AuthenticateResponse};
use crate::calls::lock;
use crate::error::{without_userinfo, ConfigError};
use crate::tls::{client_config, TlsMaterial};

/// Rounds over the members for a read that keeps failing on broken connections.
const READ_ROUNDS: u32 = 3;

/// Largest message accepted, as etcd's Go client (2 GiB - 1).
const MAX_MESSAGE: usize = i32::MAX as usize;

pub struct EngineOptions {
  pub hosts: Vec<String>,
  pub tls: TlsMaterial,
  pub dial_timeout: Option<Duration>,
  pub credentials: Option<(String, String)>,
}

/// Why a call failed, as JS sees it: the gRPC status code and etcd's message.
#[derive(Debug, Clone)]
pub struct CallError {
  pub code: i32,
  pub message: String,
}

impl CallError {
  fn from_status(s: &Status) -> Self {
    Self { code: s.code() as i32, message: s.message().to_string() }
  }
}

pub struct Member {
  channel: Channel,
  /// `scheme://authority` in lower case: how a call aimed at one endpoint finds its member.
  origin: String,
  /// The member has answered since its connection was (re)made: until then a call's wait for an
  /// answer is bounded by `dialTimeout` (a member can accept TCP and never speak HTTP/2).
  answered: AtomicBool,
}

/// Endpoints outside the host list that calls were aimed at (clientv3 dials them on demand); kept
/// for reuse, up to this many.
const MAX_EXTRA_ENDPOINTS: usize = 16;

pub struct Engine {
  members: Vec<Arc<Member>>,
  /// Channels to endpoints that are not in the host list, made for calls aimed at them.
  extra: Mutex<Vec<Arc<Member>>>,
  /// Round-robin start point, so load spreads over the members.
  next: AtomicUsize,
  credentials: Option<(String, String)>,
  token: RwLock<Option<Arc<str>>>,
  dial_timeout: Option<Duration>,
  tls_material: TlsMaterial,
  /// Built on first use by an https member, then shared.
  tls: Mutex<Option<Arc<rustls::ClientConfig>>>,
}

impl Engine {
  pub fn new(opts: EngineOptions) -> Result<Self, ConfigError> {
    if opts.hosts.is_empty() {
      return Err(ConfigError::new("ERR_INVALID_ARG_VALUE", "hosts: at least one etcd endpoint is needed"));
    }
    let mut engine = Self {
      members: Vec::with_capacity(opts.hosts.len()),
      extra: Mutex::new(Vec::new()),
      next: AtomicUsize::new(0),
      credentials: opts.credentials,
      token: RwLock::new(None),
      dial_timeout: opts.dial_timeout,
      tls_material: opts.tls,
      tls: Mutex::new(None),
    };
    for host in &opts.hosts {
      let member = engine.connect(host)?;
      engine.members.push(Arc::new(member));
    }
    Ok(engine)
  }

  /// A lazily connected channel to `host` (`http(s)://host:port`).
  fn connect(&self, host: &str) -> Result<Member, ConfigError> {
    let (uri, secure, origin) = parse_endpoint(host)?;
    let mut endpoint = Endpoint::from(uri)
      .tcp_nodelay(true)
      .http2_keep_alive_interval(Duration::from_secs(30))
      .keep_alive_timeout(Duration::from_secs(10));
    if let Some(t) = self.dial_timeout {
      endpoint = endpoint.connect_timeout(t);
    }
    let channel = if secure {
      let config = {
        let mut slot = lock(&self.tls);
        match &*slot {
          Some(c) => Arc::clone(c),
          None => {
            let mut c = client_config(&self.tls_material)?;
            c.alpn_protocols = vec![b"h2".to_vec()];
            let c = Arc::new(c);
            *slot = Some(Arc::clone(&c));
            c
          }
        }
      };
      endpoint.connect_with_connector_lazy(tls_connector(config, self.dial_timeout))
    } else {
      endpoint.connect_lazy()
    };
    Ok(Member { channel, origin, answered: AtomicBool::new(false) })
  }

  /// The member to aim a call at `endpoint` (`http(s)://host:port`): one of the hosts, or a channel
  /// made for it (as clientv3's per-endpoint calls dial the endpoint they are given). Must run
  /// within the tokio runtime (lazy channels spawn their connection task there).
  pub fn member_for(&self, endpoint: &str) -> Result<Arc<Member>, ConfigError> {
    let (_, _, origin) = parse_endpoint(endpoint)?;
    if let Some(m) = self.members.iter().find(|m| m.origin == origin) {
      return Ok(Arc::clone(m));
    }
    let mut extra = lock(&self.extra);
    if let Some(m) = extra.iter().find(|m| m.origin == origin) {
      return Ok(Arc::clone(m));
    }
    let member = Arc::new(self.connect(endpoint)?);
    if extra.len() >= MAX_EXTRA_ENDPOINTS {
      extra.remove(0);
    }
    extra.push(Arc::clone(&member));
    Ok(member)
  }

  /// One unary call. `idempotent`: safe to send again after it may have reached a member (reads);
  /// anything else is sent again only when the failure proves it never left the client.
  pub async fn unary(&self, path: &'static str, body: Bytes, idempotent: bool, cancel: &CancellationToken) -> Result<Bytes, CallError> {
    let n = self.members.len();
    // Reads get a few rounds over the members (a single member may just be restarting); a write
    // gets one, and moves on only when it never left the client.
    let rounds = if idempotent { READ_ROUNDS } else { 1 };
    let mut last = None;
    for round in 0..rounds {
      if round > 0 {
        tokio::select! {
          biased;
          _ = cancel.cancelled() => return Err(cancelled()),
          _ = tokio::time::sleep(Duration::from_millis(50 << round)) => {}
        }
      }
      let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
      for i in 0..n {
        let member = &self.members[(start + i) % n];
        match self.on_member(member, path, &body, cancel).await? {
          Ok(bytes) => return Ok(bytes),
          Err(status) => {
            if !(connection_failed(&status) && (idempotent || never_sent(&status))) {
              return Err(CallError::from_status(&status));
            }
            last = Some(CallError::from_status(&status));
          }
        }
      }
    }
    Err(last.unwrap_or_else(|| CallError { code: Code::Unavailable as i32, message: "no etcd member answered".into() }))
  }

  /// One exchange with one member; until the member has answered once, bounded by `dialTimeout`.
  async fn attempt(&self, member: &Member, path: &'static str, body: Bytes, token: Option<&str>) -> Result<Bytes, Status> {
    let result = self.bounded(member, call_raw(&member.channel, path, body, token)).await;
    // A status from the server proves the connection speaks gRPC; a broken one must prove it again.
    member.answered.store(!matches!(&result, Err(s) if connection_failed(s)), Ordering::Relaxed);
    result
  }

  /// One unary call aimed at one member (clientv3's per-endpoint maintenance calls): no failover.
  pub async fn unary_on(&self, member: &Member, path: &'static str, body: Bytes, cancel: &CancellationToken) -> Result<Bytes, CallError> {
    self.on_member(member, path, &body, cancel).await?.map_err(|status| CallError::from_status(&status))
  }

  /// One call on one member. Tokens expire (etcd's simple tokens after 5 minutes idle): when etcd
  /// calls ours invalid, fetch a new one, once. The outer error is cancellation or a failed token
  /// fetch; the inner one is the member's answer, for the caller's failover rule.
  async fn on_member(&self, member: &Member, path: &'static str, body: &Bytes, cancel: &CancellationToken) -> Result<Result<Bytes, Status>, CallError> {
    let mut refreshed = false;
    loop {
      let token = self.token_for(member, cancel).await?;
      let attempt = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(cancelled()),
        r = self.attempt(member, path, body.clone(), token.as_deref()) => r,
      };
      match attempt {
        Err(status) if is_invalid_token(&status) && self.credentials.is_some() && !refreshed => {
          refreshed = true;
          self.clear_token(token.as_deref());
        }
        answer => return Ok(answer),
      }
    }
  }

  /// Opens a server-streaming call (Snapshot, Observe) on `target`, or else on the members in
  /// turn until one takes it: opening sends only a read request, so a member whose connection
  /// failed may be replaced by the next. Resolves once etcd answered the stream's headers.
  pub async fn server_stream(&self, target: Option<Arc<Member>>, path: &'static str, body: Bytes, cancel: &CancellationToken) -> Result<tonic::Streaming<Bytes>, CallError> {
    let candidates: Vec<Arc<Member>> = match target {
      Some(m) => vec![m],
      None => {
        let n = self.members.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        (0..n).map(|i| Arc::clone(&self.members[(start + i) % n])).collect()
      }
    };
    let mut last = None;
    for member in &candidates {
      let mut refreshed = false;
      loop {
        let token = self.token_for(member, cancel).await?;
        let open = open_server_stream(&member.channel, path, body.clone(), token.as_deref());
        let opened = tokio::select! {
          biased;
          _ = cancel.cancelled() => return Err(cancelled()),
          r = self.bounded(member, open) => r,
        };
        member.answered.store(!matches!(&opened, Err(s) if connection_failed(s)), Ordering::Relaxed);
        match opened {
          Ok(stream) => return Ok(stream),
          Err(status) if is_invalid_token(&status) && self.credentials.is_some() && !refreshed => {
            refreshed = true;
            self.clear_token(token.as_deref());
          }
          Err(status) if connection_failed(&status) => {
            last = Some(CallError::from_status(&status));
            break;
          }
          Err(status) => return Err(CallError::from_status(&status)),
        }
      }
    }
    Err(last.unwrap_or_else(|| CallError { code: Code::Unavailable as i32, message: "no etcd member answered".into() }))
  }

  /// Bounds `f` by `dialTimeout` while `member` has not answered since its connection was made.
  async fn bounded<T>(&self, member: &Member, f: impl std::future::Future<Output = Result<T, Status>>) -> Result<T, Status> {
    match self.dial_timeout.filter(|_| !member.answered.load(Ordering::Relaxed)) {
      Some(t) => match tokio::time::timeout(t, f).await {
        Ok(r) => r,
        Err(_) => Err(Status::unavailable("no answer from the member within dialTimeout")),
      },
      None => f.await,
    }
  }

  async fn token_for(&self, member: &Member, cancel: &CancellationToken) -> Result<Option<Arc<str>>, CallError> {
    let Some((user, pass)) = &self.credentials else { return Ok(None) };
    if let Some(t) = self.token.read().unwrap_or_else(|e| e.into_inner()).clone() {
      return Ok(Some(t));
    }
    let req = AuthenticateRequest { name: user.clone(), password: pass.clone() };
    let body = Bytes::from(prost::Message::encode_to_vec(&req));
    let reply = tokio::select! {
      biased;
      _ = cancel.cancelled() => return Err(cancelled()),
      r = call_raw(&member.channel, "/etcdserverpb.Auth/Authenticate", body, None) => r,
    }
    .map_err(|s| CallError::from_status(&s))?;
    let resp: AuthenticateResponse = prost::Message::decode(reply).map_err(|e| CallError { code: Code::Internal as i32, message: format!("bad Authenticate answer: {e}") })?;
    let token: Arc<str> = Arc::from(resp.token.as_str());
    *self.token.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&token));
    Ok(Some(token))
  }

  fn clear_token(&self, stale: Option<&str>) {
    let mut slot = self.token.write().unwrap_or_else(|e| e.into_inner());
    if slot.as_deref() == stale {
      *slot = None;
    }
  }

  /// The channel and current token for a stream (watch, keep-alive) on the member after the last one used.
  pub async fn stream_target(&self, cancel: &CancellationToken) -> Result<(Channel, Option<Arc<str>>), CallError> {
    let n = self.members.len();
    let member = &self.members[self.next.fetch_add(1, Ordering::Relaxed) % n];
    let token = self.token_for(member, cancel).await?;
    Ok((member.channel.clone(), token))
  }

  pub fn forget_token(&self, stale: Option<&str>) {
    self.clear_token(stale)
  }

  pub fn has_credentials(&self) -> bool {
    self.credentials.is_some()
  }
}

fn cancelled() -> CallError {
  CallError { code: Code::Cancelled as i32, message: "the call was cancelled".into() }
}

pub fn is_invalid_token(s: &Status) -> bool {
  names_stale_token(s.message())
}

/// etcd's words for a token it no longer accepts (in a status, or in a watch's cancel reason).
pub fn names_stale_token(message: &str) -> bool {
  message.contains("invalid auth token") || message.contains("auth token is expired")
}

/// The connection failed (as opposed to etcd answering with an error): tonic reports refused or
/// dropped connections as UNAVAILABLE, and a connection broken mid-call as UNKNOWN "transport error".
fn connection_failed(s: &Status) -> bool {
  s.code() == Code::Unavailable || (s.code() == Code::Unknown && s.message().contains("transport error"))
}

/// The request never left the client: the connection could not be made (refused, unreachable,
/// DNS, TLS handshake, connect timeout). Then even a write may go to another member.
fn never_sent(s: &Status) -> bool {
  let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(s);
  while let Some(e) = source {
    let text = e.to_string();
    if text.contains("tcp connect error") || text.contains("error trying to connect") || text.contains("dns error") || text.contains("Connection refused") {
      return true;
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
      if matches!(io.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable) {
        return true;
      }
    }
    source = e.source();
  }
  false
}

/// A request carrying etcd's `token` metadata when there is a token.
fn with_token<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
  let mut request = tonic::Request::new(message);
  if let Some(v) = token.and_then(|t| MetadataValue::try_from(t).ok()) {
    request.metadata_mut().insert("token", v);
  }
  request
}

fn grpc(channel: Channel) -> tonic::client::Grpc<Channel> {
  tonic::client::Grpc::new(channel).max_decoding_message_size(MAX_MESSAGE).max_encoding_message_size(MAX_MESSAGE)
}

/// One gRPC exchange of already encoded messages.
pub async fn call_raw(channel: &Channel, path: &'static str, body: Bytes, token: Option<&str>) -> Result<Bytes, Status> {
  let mut grpc = grpc(channel.clone());
  grpc.ready().await.map_err(|e| Status::from_error(e.into()))?;
  let response = grpc.unary(with_token(body, token), PathAndQuery::from_static(path), RawCodec).await?;
  Ok(response.into_inner())
}

/// Opens a bidirectional stream of encoded messages (Watch, LeaseKeepAlive). etcd answers the
/// stream's headers with its first message, so `outbound` must already hold a request.
pub async fn open_stream<S>(channel: Channel, path: &'static str, outbound: S, token: Option<&str>) -> Result<tonic::Streaming<Bytes>, Status>
where
  S: tokio_stream::Stream<Item = Bytes> + Send + 'static,
{
  let mut grpc = grpc(channel);
  grpc.ready().await.map_err(|e| Status::from_error(e.into()))?;
  Ok(grpc.streaming(with_token(outbound, token), PathAndQuery::from_static(path), RawCodec).await?.into_inner())
}

/// Opens a server-streaming call with one encoded request (Snapshot, Observe).
pub async fn open_server_stream(channel: &Channel, path: &'static str, body: Bytes, token: Option<&str>) -> Result<tonic::Streaming<Bytes>, Status> {
  let mut grpc = grpc(channel.clone());
  grpc.ready().await.map_err(|e| Status::from_error(e.into()))?;
  Ok(grpc.server_streaming(with_token(body, token), PathAndQuery::from_static(path), RawCodec).await?.into_inner())
}

/// `(uri, secure, origin)` of a member URL; only http and https.
fn parse_endpoint(host: &str) -> Result<(Uri, bool, String), ConfigError> {
  let shown = without_userinfo(host);
  let uri: Uri = host.parse().map_err(|e| ConfigError::new("ERR_INVALID_URL", format!("invalid host {shown:?}: {e}")))?;
  let secure = match uri.scheme_str() {
    Some("https") => true,
    Some("http") => false,
    _ => return Err(ConfigError::new("ERR_INVALID_URL", format!("unsupported protocol in {shown:?} (use http:// or https://)"))),
  };
  let authority = uri.authority().map(|a| without_userinfo(a.as_str()).to_ascii_lowercase()).ok_or_else(|| ConfigError::new("ERR_INVALID_URL", format!("no host in {shown:?}")))?;
  let origin = format!("{}://{}", if secure { "https" } else { "http" }, authority);
  Ok((uri, secure, origin))
}


/// Moves encoded messages through tonic unchanged.
#[derive(Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
  type Encode = Bytes;
  type Decode = Bytes;
  type Encoder = RawCodec;
  type Decoder = RawCodec;

  fn encoder(&mut self) -> Self::Encoder {
    RawCodec
  }

  fn decoder(&mut self) -> Self::Decoder {
    RawCodec
  }
}

impl Encoder for RawCodec {
  type Item = Bytes;
  type Error = Status;

  fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
    dst.put(item);
    Ok(())
  }
}

impl Decoder for RawCodec {
  type Item = Bytes;
  type Error = Status;

  fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
    Ok(Some(src.copy_to_bytes(src.remaining())))
  }
}

type TlsIo = hyper_util::rt::TokioIo<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;
type ConnectError = Box<dyn std::error::Error + Send + Sync>;

/// TCP + rustls (our TLS material, ALPN h2) for https members.
fn tls_connector(
  config: Arc<rustls::ClientConfig>,
  dial_timeout: Option<Duration>,
) -> impl tower::Service<Uri, Response = TlsIo, Error = ConnectError, Future = impl std::future::Future<Output = Result<TlsIo, ConnectError>> + Send> + Clone {
  tower::service_fn(move |uri: Uri| {
    let config = Arc::clone(&config);
    async move {
      let host = uri.host().ok_or("host URL has no host")?.trim_start_matches('[').trim_end_matches(']').to_string();
      let port = uri.port_u16().unwrap_or(443);
      let connect = tokio::net::TcpStream::connect((host.as_str(), port));
      let tcp = match dial_timeout {
        Some(t) => tokio::time::timeout(t, connect).await.map_err(|_| "tcp connect error: timed out")??,
        None => connect.await?,
      };
      tcp.set_nodelay(true)?;
      let tls = crate::tls::handshake(config, &host, tcp).await?;
      Ok::<_, ConnectError>(hyper_util::rt::TokioIo::new(tls))
    }
  })
}

#[cfg(test)]
mod tests {
  #[test]
  fn endpoint_messages_never_show_credentials() {
    assert_eq!(crate::error::without_userinfo("http://u:secret@h:1/p"), "http://h:1/p");
    assert_eq!(crate::error::without_userinfo("u:secret@h:1"), "h:1");
    assert_eq!(crate::error::without_userinfo("http://h:1/a@b"), "http://h:1/a@b");
    let err = super::parse_endpoint("ftp://u:secret@h:1").err().map(|e| e.message).unwrap_or_default();
    assert!(!err.contains("secret"), "{err}");
  }

  use super::*;

  fn engine(hosts: &[&str]) -> Engine {
    let opts = EngineOptions { hosts: hosts.iter().map(|h| h.to_string()).collect(), tls: TlsMaterial::default(), dial_timeout: None, credentials: None };
    Engine::new(opts).expect("engine")
  }

  #[tokio::test]
  async fn calls_aimed_at_an_endpoint_find_its_member() {
    let e = engine(&["http://127.0.0.1:2379", "http://localhost:2479"]);
    // Same scheme and authority (any case, any path) = the same member.
    let m = e.member_for("HTTP://127.0.0.1:2379/").expect("known host");
    assert!(Arc::ptr_eq(&m, &e.members[0]));
    assert!(Arc::ptr_eq(&e.member_for("http://LOCALHOST:2479").expect("known host"), &e.members[1]));
    // Another endpoint gets a channel of its own, made once and reused.
    let other = e.member_for("http://127.0.0.1:2380").expect("extra endpoint");
    assert!(Arc::ptr_eq(&other, &e.member_for("http://127.0.0.1:2380").expect("again")));
    assert_eq!(lock(&e.extra).len(), 1);
    // A bounded number of them is kept.
    for port in 3000..3000 + 2 * MAX_EXTRA_ENDPOINTS as u16 {
      e.member_for(&format!("http://127.0.0.1:{port}")).expect("extra endpoint");
    }
    assert_eq!(lock(&e.extra).len(), MAX_EXTRA_ENDPOINTS);
  }

  #[tokio::test]
  async fn endpoints_must_be_http_urls() {
    let e = engine(&["http://127.0.0.1:2379"]);
    for bad in ["ftp://127.0.0.1:1", "127.0.0.1:2379", "http://[::1", ""] {
      let err = e.member_for(bad).err().unwrap_or_else(|| panic!("{bad:?} was accepted"));
      assert_eq!(err.code, "ERR_INVALID_URL", "{bad:?}");
    }
    assert!(lock(&e.extra).is_empty());
  }
}
