//! The v3 engine under `Etcd3`: one HTTP/2 channel per member (connected lazily, multiplexing
//! every call), Go clientv3's retry rule, auth tokens, and deadlines. Calls move encoded protobuf
//! messages: the JS facade owns the message shapes (as it owns JSON parsing for v2).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use tokio_util::sync::CancellationToken;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

use super::proto::{AuthenticateRequest, AuthenticateResponse};
use crate::error::ConfigError;
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

struct Member {
  channel: Channel,
  /// The member has answered since its connection was (re)made: until then a call's wait for an
  /// answer is bounded by `dialTimeout` (a member can accept TCP and never speak HTTP/2).
  answered: AtomicBool,
}

pub struct Engine {
  members: Vec<Member>,
  /// Round-robin start point, so load spreads over the members.
  next: AtomicUsize,
  credentials: Option<(String, String)>,
  token: RwLock<Option<Arc<str>>>,
  dial_timeout: Option<Duration>,
}

impl Engine {
  pub fn new(opts: EngineOptions) -> Result<Self, ConfigError> {
    if opts.hosts.is_empty() {
      return Err(ConfigError::new("ERR_INVALID_ARG_VALUE", "hosts: at least one etcd endpoint is needed"));
    }
    let mut tls = None;
    let mut members = Vec::with_capacity(opts.hosts.len());
    for host in &opts.hosts {
      let uri: Uri = host.parse().map_err(|e| ConfigError::new("ERR_INVALID_URL", format!("invalid host {host:?}: {e}")))?;
      let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(ConfigError::new("ERR_INVALID_URL", format!("unsupported protocol in {host:?} (use http:// or https://)"))),
      };
      let mut endpoint = Endpoint::from(uri.clone())
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10));
      if let Some(t) = opts.dial_timeout {
        endpoint = endpoint.connect_timeout(t);
      }
      let channel = if secure {
        let config = match &tls {
          Some(c) => Arc::clone(c),
          None => {
            let mut c = client_config(&opts.tls)?;
            c.alpn_protocols = vec![b"h2".to_vec()];
            let c = Arc::new(c);
            tls = Some(Arc::clone(&c));
            c
          }
        };
        endpoint.connect_with_connector_lazy(tls_connector(config, opts.dial_timeout))
      } else {
        endpoint.connect_lazy()
      };
      members.push(Member { channel, answered: AtomicBool::new(false) });
    }
    Ok(Self { members, next: AtomicUsize::new(0), credentials: opts.credentials, token: RwLock::new(None), dial_timeout: opts.dial_timeout })
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
        let mut refreshed = false;
        loop {
          let token = self.token_for(member, cancel).await?;
          let attempt = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled()),
            r = self.attempt(member, path, body.clone(), token.as_deref()) => r,
          };
          match attempt {
            Ok(bytes) => return Ok(bytes),
            Err(status) if is_invalid_token(&status) && self.credentials.is_some() && !refreshed => {
              // Tokens expire (etcd's simple tokens after 5 minutes idle): fetch a new one, once.
              refreshed = true;
              self.clear_token(token.as_deref());
            }
            Err(status) => {
              let broken = connection_failed(&status);
              if !(broken && (idempotent || never_sent(&status))) {
                return Err(CallError::from_status(&status));
              }
              last = Some(CallError::from_status(&status));
              break;
            }
          }
        }
      }
    }
    Err(last.unwrap_or_else(|| CallError { code: Code::Unavailable as i32, message: "no etcd member answered".into() }))
  }

  /// One exchange with one member; until the member has answered once, bounded by `dialTimeout`.
  async fn attempt(&self, member: &Member, path: &'static str, body: Bytes, token: Option<&str>) -> Result<Bytes, Status> {
    let result = match self.dial_timeout.filter(|_| !member.answered.load(Ordering::Relaxed)) {
      Some(t) => match tokio::time::timeout(t, call_raw(&member.channel, path, body, token)).await {
        Ok(r) => r,
        Err(_) => Err(Status::unavailable("no answer from the member within dialTimeout")),
      },
      None => call_raw(&member.channel, path, body, token).await,
    };
    // A status from the server proves the connection speaks gRPC; a broken one must prove it again.
    member.answered.store(!matches!(&result, Err(s) if connection_failed(s)), Ordering::Relaxed);
    result
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
  let m = s.message();
  m.contains("invalid auth token") || m.contains("auth token is expired")
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
