//! One HTTP exchange with one etcd member: the connection pool, TLS, Basic auth, proxies,
//! the per-attempt timeout and redirects.
//!
//! Built on hyper-util's pooling client (the same engine reqwest drives, already in the tree for
//! tonic) without reqwest's layers: each host's scheme and authority are parsed once, so a
//! request only assembles its path; redirects are followed here.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, LOCATION, PROXY_AUTHORIZATION};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower::Service;
use url::Url;

use crate::error::{classify, socket_timed_out, without_userinfo, ConfigError, ConnectTimedOut, TransportError};
use crate::tls::{client_config, handshake, TlsMaterial};

#[cfg(unix)]
pub use crate::jsloop::LocalSockets;
#[cfg(unix)]
use crate::jsloop::UvStream;
/// Off Unix there is no JS-thread engine: this type has no values.
#[cfg(not(unix))]
#[derive(Clone, Copy)]
pub enum LocalSockets {}

/// node-etcd (through `request`) follows at most 10 redirects.
const MAX_REDIRECTS: usize = 10;
/// A request body and its media type: v2 key writes are forms, the members and auth APIs take JSON.
#[derive(Clone)]
pub struct Body {
  pub bytes: Bytes,
  pub content_type: &'static str,
}

impl Body {
  pub fn new(text: String, json: bool) -> Self {
    let content_type = if json { "application/json" } else { "application/x-www-form-urlencoded" };
    Self { bytes: Bytes::from(text), content_type }
  }
}

#[derive(Clone)]
pub struct TransportOptions {
  pub hosts: Vec<String>,
  pub timeout: Option<Duration>,
  pub tls: TlsMaterial,
  pub auth: Option<(String, String)>,
  pub proxy: ProxyMode,
  pub headers: Vec<(String, String)>,
}

#[derive(Clone)]
pub enum ProxyMode {
  /// HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY from the environment, as node-etcd did.
  Environment,
  Fixed(String),
  Disabled,
}

/// A member's base URL without credentials, and the Authorization header to send it.
#[derive(Clone)]
pub struct Host {
  /// For messages and `errors[i].server`: the base URL without credentials.
  pub base: String,
  /// Parsed once (normalised by the URL parser): a request then only assembles its path.
  scheme: Scheme,
  authority: Authority,
  /// The Host header hyper would otherwise format on every request.
  host_header: HeaderValue,
  /// The host URL's path prefix (no trailing slash), prepended to every request path.
  prefix: String,
  /// For the rare paths that need the URL parser's treatment (dot segments, bytes to escape).
  base_url: Url,
  auth: Option<HeaderValue>,
  /// Plain http through a proxy with credentials: they go to the proxy on every request.
  proxy_auth: Option<HeaderValue>,
}

pub struct Response {
  pub status: u16,
  /// Lower-cased names and values joined by newlines: `name\nvalue\nname\nvalue` (HTTP header
  /// values cannot contain a newline). One string crosses into JS instead of one per header.
  pub headers: String,
  pub body: String,
}

/// A final response whose body has not been read yet.
pub struct Head {
  response: http::Response<Incoming>,
  /// The per-read idle timeout that also bounds the body.
  read_timeout: Option<Duration>,
}

impl Head {
  pub fn status(&self) -> u16 {
    self.response.status().as_u16()
  }
}

#[derive(Clone)]
pub struct Transport {
  client: Client<Connector, Full<Bytes>>,
  /// For the JS-thread engine's pool (Unix only).
  #[cfg_attr(not(unix), allow(dead_code))]
  connector: Connector,
  /// None: `proxy: false`. Kept for redirects to hosts outside the list.
  proxies: Option<Arc<Matcher>>,
  timeout: Option<Duration>,
  pub hosts: Vec<Host>,
  default_headers: HeaderMap,
}

/// Where a JS-thread transport's hyper tasks go (the engine's own task set).
#[cfg(unix)]
pub type SpawnFn = Arc<dyn Fn(Pin<Box<dyn Future<Output = ()> + Send>>) + Send + Sync>;

#[cfg(unix)]
#[derive(Clone)]
struct FnExecutor(SpawnFn);

#[cfg(unix)]
impl<F: Future<Output = ()> + Send + 'static> hyper::rt::Executor<F> for FnExecutor {
  fn execute(&self, fut: F) {
    (self.0)(Box::pin(fut))
  }
}

impl Transport {
  /// A transport whose calls and connections run on the shared tokio runtime.
  pub fn new(opts: TransportOptions) -> Result<Self, ConfigError> {
    // The headers every request carries: node-etcd's `accept`, then the caller's `headers`
    // option, which replaces a default of the same name (as `request` did).
    let mut default_headers = HeaderMap::new();
    default_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let mut replaced = Vec::new();
    for (name, value) in &opts.headers {
      let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| ConfigError::new("ERR_INVALID_HEADER", format!("headers: invalid header name {name:?}")))?;
      let v = HeaderValue::from_str(value).map_err(|_| ConfigError::new("ERR_INVALID_HEADER", format!("headers: invalid value for header {name:?}")))?;
      if !replaced.contains(&n) {
        default_headers.remove(&n);
        replaced.push(n.clone());
      }
      default_headers.append(n, v);
    }

    let proxies = match &opts.proxy {
      ProxyMode::Environment => Some(Arc::new(Matcher::from_env())),
      ProxyMode::Disabled => None,
      ProxyMode::Fixed(raw) => {
        let url = Url::parse(raw).map_err(|e| ConfigError::new("ERR_INVALID_PROXY", format!("proxy: {e}")))?;
        Some(Arc::new(Matcher::builder().all(String::from(url)).build()))
      }
    };

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    // reqwest's socket settings, kept: dead peers are noticed even on idle pooled connections.
    http.set_keepalive(Some(Duration::from_secs(15)));
    http.set_keepalive_interval(Some(Duration::from_secs(15)));
    http.set_keepalive_retries(Some(3));
    // TCP_USER_TIMEOUT exists only on Linux-like systems (hyper-util offers it only there).
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    http.set_tcp_user_timeout(Some(Duration::from_secs(30)));
    let connector = Connector { http, tls: Arc::new(client_config(&opts.tls)?), proxies: proxies.clone(), connect_timeout: opts.timeout, sockets: None };
    let client = pooled(Client::builder(TokioExecutor::new()), connector.clone());

    let mut transport = Self { client, connector, proxies, timeout: opts.timeout, hosts: Vec::new(), default_headers };
    transport.hosts = transport.parse_hosts(&opts.hosts, opts.auth.as_ref())?;
    Ok(transport)
  }

  /// The same settings (TLS, proxies, headers, hosts) with a pool of its own for the JS-thread
  /// engine: hyper's tasks go to `spawn`, and connected sockets move onto the engine's loop.
  #[cfg(unix)]
  pub fn on_js_thread(&self, spawn: SpawnFn, sockets: LocalSockets) -> Self {
    let connector = Connector { sockets: Some(sockets), ..self.connector.clone() };
    let client = pooled(Client::builder(FnExecutor(spawn)), connector.clone());
    Self { client, connector, ..self.clone() }
  }

  /// The same client (connection pool, TLS, headers) for another host list.
  pub fn with_hosts(&self, hosts: &[String], auth: Option<&(String, String)>) -> Result<Self, ConfigError> {
    let hosts = self.parse_hosts(hosts, auth)?;
    Ok(Self { hosts, ..self.clone() })
  }

  fn parse_hosts(&self, hosts: &[String], auth: Option<&(String, String)>) -> Result<Vec<Host>, ConfigError> {
    let global_auth = auth.map(|(u, p)| basic(u, p)).transpose()?;
    hosts
      .iter()
      .map(|h| {
        let mut host = parse_host(h, global_auth.as_ref())?;
        let origin = Uri::from_parts(origin_parts(host.scheme.clone(), host.authority.clone())).map_err(|e| ConfigError::new("ERR_INVALID_URL", format!("invalid host URL: {e}")))?;
        host.proxy_auth = self.proxy_auth(&origin);
        Ok(host)
      })
      .collect()
  }

  /// The Proxy-Authorization a plain-http request to `dst` carries (an https one sends it in
  /// the CONNECT instead).
  fn proxy_auth(&self, dst: &Uri) -> Option<HeaderValue> {
    if dst.scheme() != Some(&Scheme::HTTP) {
      return None;
    }
    self.proxies.as_ref()?.intercept(dst)?.basic_auth().cloned()
  }

  /// Sends one request to host `index`, following redirects; any status is a response.
  pub async fn send(&self, index: usize, method: &Method, path: &str, body: Option<&Body>) -> Result<Response, TransportError> {
    let head = self.send_head(index, method, path, body).await?;
    read_response(head).await
  }

  /// Like `send`, but returns as soon as the final response's headers arrive (a v2 watch
  /// flushes them at registration and the body only when an event happens).
  pub async fn send_head(&self, index: usize, method: &Method, path: &str, body: Option<&Body>) -> Result<Head, TransportError> {
    let host = &self.hosts[index];
    let mut uri = host.request_uri(path)?;
    let mut method = method.clone();
    let mut body = body.cloned();
    let mut auth = host.auth.clone();
    let mut proxy_auth = host.proxy_auth.clone();
    let mut host_header = Some(&host.host_header);
    let mut hops = 0;
    loop {
      let req = self.request(&method, uri.clone(), auth.as_ref(), proxy_auth.as_ref(), host_header, body.as_ref());
      let response = self.exchange(req).await?;
      let status = response.status().as_u16();

      if (300..400).contains(&status) {
        if let Some(mut next) = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).and_then(|l| resolve(&uri, l)) {
          if hops == MAX_REDIRECTS {
            return Err(TransportError::new(
              "ERR_TOO_MANY_REDIRECTS",
              format!("Exceeded maxRedirects. Probably stuck in a redirect loop {}", without_userinfo(next.as_str())),
            ));
          }
          hops += 1;
          if status != 307 {
            method = Method::GET;
            body = None;
          }
          let current = Url::parse(&uri.to_string()).ok();
          if !current.is_some_and(|c| same_origin(&c, &next)) {
            // Credentials never follow a redirect to another host.
            auth = None;
          }
          if !next.username().is_empty() || next.password().is_some() {
            // Credentials in the Location itself are used for it and kept off the wire's URL.
            let user = percent_decode(next.username());
            let pass = percent_decode(next.password().unwrap_or(""));
            auth = basic(&user, &pass).ok();
            let _ = next.set_username("");
            let _ = next.set_password(None);
          }
          uri = url_to_uri(&next)?;
          proxy_auth = self.proxy_auth(&uri);
          // hyper derives it from the new URI.
          host_header = None;
          continue;
        }
      }
      return Ok(Head { response, read_timeout: self.timeout });
    }
  }

  fn request(&self, method: &Method, uri: Uri, auth: Option<&HeaderValue>, proxy_auth: Option<&HeaderValue>, host: Option<&HeaderValue>, body: Option<&Body>) -> Request<Full<Bytes>> {
    let mut headers = HeaderMap::with_capacity(self.default_headers.len() + 5);
    for (name, value) in &self.default_headers {
      headers.append(name.clone(), value.clone());
    }
    if let Some(a) = auth {
      headers.append(AUTHORIZATION, a.clone());
    }
    let content = match body {
      Some(b) => {
        headers.append(CONTENT_TYPE, HeaderValue::from_static(b.content_type));
        b.bytes.clone()
      }
      None => {
        // node-etcd sends an explicit zero length on every method but GET when there is no value.
        if method != Method::GET {
          headers.append(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        Bytes::new()
      }
    };
    if let Some(p) = proxy_auth {
      if !headers.contains_key(PROXY_AUTHORIZATION) {
        headers.insert(PROXY_AUTHORIZATION, p.clone());
      }
    }
    if let Some(h) = host {
      // A `host` in the caller's headers wins, as it does in hyper.
      if !headers.contains_key(HOST) {
        headers.insert(HOST, h.clone());
      }
    }
    let mut req = Request::new(Full::new(content));
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    req
  }

  /// One request on the pool; until the response head arrives it is bounded by `timeout`.
  async fn exchange(&self, req: Request<Full<Bytes>>) -> Result<http::Response<Incoming>, TransportError> {
    let pending = self.client.request(req);
    let result = match self.timeout {
      // The request is polled before the timer: a connect timeout due at the same tick wins.
      Some(t) => match tokio::time::timeout(t, pending).await {
        Ok(r) => r,
        Err(_) => return Err(socket_timed_out()),
      },
      None => pending.await,
    };
    result.map_err(|e| classify(&e, e.is_connect()))
  }
}

impl Host {
  /// `path` (with its query) under this host's prefix, as an absolute URI.
  fn request_uri(&self, path: &str) -> Result<Uri, TransportError> {
    if !is_plain_target(path) {
      // The URL parser's rules (escaping, `.`/`..` segments) for anything unusual, as before.
      let mut url = self.base_url.clone();
      let (path_part, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
      };
      url.set_path(&format!("{}{}", self.prefix, path_part));
      url.set_query(query);
      return url_to_uri(&url);
    }
    let mut target = String::with_capacity(self.prefix.len() + path.len() + 1);
    target.push_str(&self.prefix);
    if !path.starts_with('/') {
      target.push('/');
    }
    target.push_str(path);
    let mut parts = origin_parts(self.scheme.clone(), self.authority.clone());
    parts.path_and_query = Some(PathAndQuery::from_maybe_shared(Bytes::from(target)).map_err(|e| TransportError::new("ERR_INVALID_URL", format!("invalid request path: {e}")))?);
    Uri::from_parts(parts).map_err(|e| TransportError::new("ERR_INVALID_URL", format!("invalid request URL: {e}")))
  }
}

fn origin_parts(scheme: Scheme, authority: Authority) -> http::uri::Parts {
  let mut parts = http::uri::Parts::default();
  parts.scheme = Some(scheme);
  parts.authority = Some(authority);
  parts.path_and_query = Some(PathAndQuery::from_static("/"));
  parts
}

/// The request target is already what the URL parser would produce: printable ASCII without
/// bytes it escapes, and no `.`/`..` segment in the path (the common case: the facade encodes).
fn is_plain_target(target: &str) -> bool {
  let (path, query) = match target.split_once('?') {
    Some((p, q)) => (p, q),
    None => (target, ""),
  };
  let plain_path = path.bytes().all(|b| (0x21..=0x7e).contains(&b) && !matches!(b, b'"' | b'#' | b'<' | b'>' | b'`' | b'{' | b'}' | b'\\'));
  let plain_query = query.bytes().all(|b| (0x21..=0x7e).contains(&b) && !matches!(b, b'"' | b'#' | b'<' | b'>' | b'\''));
  plain_path && plain_query && path.starts_with('/') && !path.split('/').any(is_dot_segment)
}

fn is_dot_segment(segment: &str) -> bool {
  if segment.len() > 6 || !(segment.starts_with('.') || segment.starts_with('%')) {
    return false;
  }
  let s = segment.to_ascii_lowercase().replace("%2e", ".");
  s == "." || s == ".."
}

fn url_to_uri(url: &Url) -> Result<Uri, TransportError> {
  Uri::try_from(url.as_str()).map_err(|e| TransportError::new("ERR_INVALID_URL", format!("invalid request URL: {e}")))
}

/// A Location header's target, relative to the request that got it.
fn resolve(current: &Uri, location: &str) -> Option<Url> {
  Url::parse(&current.to_string()).ok()?.join(location).ok()
}

/// Response headers, lower-cased as Node has them, as `name\nvalue\nname\nvalue`.
pub fn flat_headers(head: &Head) -> String {
  let map = head.response.headers();
  let mut headers = String::with_capacity(map.len() * 40);
  for (name, value) in map {
    if !headers.is_empty() {
      headers.push('\n');
    }
    headers.push_str(name.as_str());
    headers.push('\n');
    match std::str::from_utf8(value.as_bytes()) {
      Ok(v) => headers.push_str(v),
      Err(_) => headers.push_str(&String::from_utf8_lossy(value.as_bytes())),
    }
  }
  headers
}

/// A header's value from `flat_headers` output.
pub fn header_value<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
  let mut parts = headers.split('\n');
  while let (Some(n), Some(v)) = (parts.next(), parts.next()) {
    if n == name {
      return Some(v);
    }
  }
  None
}

/// Reads the whole body (UTF-8, invalid sequences replaced, as Node's `toString()` does); each
/// read waits at most the idle timeout.
pub async fn read_response(head: Head) -> Result<Response, TransportError> {
  let status = head.status();
  let headers = flat_headers(&head);
  let expected = head.response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
  let mut body = head.response.into_body();
  // A length from the network only sizes the buffer up to a bound.
  let mut bytes: Vec<u8> = Vec::with_capacity(expected.min(1 << 20));
  loop {
    let frame = match head.read_timeout {
      Some(t) => match tokio::time::timeout(t, body.frame()).await {
        Ok(f) => f,
        Err(_) => return Err(socket_timed_out()),
      },
      None => body.frame().await,
    };
    match frame {
      None => break,
      Some(Err(e)) => return Err(classify(&e, false)),
      Some(Ok(frame)) => {
        if let Ok(data) = frame.into_data() {
          bytes.extend_from_slice(&data);
        }
      }
    }
  }
  let body = match String::from_utf8(bytes) {
    Ok(s) => s,
    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
  };
  Ok(Response { status, headers, body })
}

/// hyper-util's pooling client with our pool settings.
fn pooled(mut builder: hyper_util::client::legacy::Builder, connector: Connector) -> Client<Connector, Full<Bytes>> {
  builder.pool_timer(TokioTimer::new()).timer(TokioTimer::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector)
}

// ---- connections ------------------------------------------------------------------------------

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// TCP (hyper-util's connector: DNS, happy eyeballs, socket options), TLS with our rustls
/// config, and proxies: CONNECT tunnels to https members, a forwarding connection for plain http.
#[derive(Clone)]
struct Connector {
  http: HttpConnector,
  tls: Arc<rustls::ClientConfig>,
  proxies: Option<Arc<Matcher>>,
  connect_timeout: Option<Duration>,
  /// The JS-thread engine's loop, when this transport is that engine's.
  sockets: Option<LocalSockets>,
}

impl Service<Uri> for Connector {
  type Response = Conn;
  type Error = BoxError;
  type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

  fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
    Poll::Ready(Ok(()))
  }

  fn call(&mut self, dst: Uri) -> Self::Future {
    let this = self.clone();
    Box::pin(async move {
      match this.connect_timeout {
        Some(t) => match tokio::time::timeout(t, this.connect(dst)).await {
          Ok(r) => r,
          Err(_) => Err(Box::new(ConnectTimedOut) as BoxError),
        },
        None => this.connect(dst).await,
      }
    })
  }
}

impl Connector {
  async fn connect(self, dst: Uri) -> Result<Conn, BoxError> {
    let intercept = self.proxies.as_ref().and_then(|m| m.intercept(&dst));
    let Some(proxy) = intercept else {
      return Ok(Conn { io: TokioIo::new(self.open(dst).await?), proxied: false });
    };
    if dst.scheme() == Some(&Scheme::HTTPS) {
      let mut tunnel = Tunnel::new(proxy.uri().clone(), tower::service_fn(|uri: Uri| {
        let this = self.clone();
        async move { this.open(uri).await.map(TokioIo::new) }
      }));
      if let Some(auth) = proxy.basic_auth() {
        tunnel = tunnel.with_auth(auth.clone());
      }
      let tunneled = tunnel.call(dst.clone()).await?.into_inner();
      let host = dst.host().ok_or("no host in URL")?;
      let tls = handshake(Arc::clone(&self.tls), host, tunneled).await?;
      return Ok(Conn { io: TokioIo::new(Io::Tls(Box::new(tls))), proxied: false });
    }
    // Plain http through the proxy: requests then carry absolute-form targets.
    Ok(Conn { io: TokioIo::new(self.open(proxy.uri().clone()).await?), proxied: true })
  }

  /// A TCP connection to `uri`'s host, with TLS when its scheme is https.
  async fn open(&self, uri: Uri) -> Result<Io, BoxError> {
    let tcp = self.http.clone().call(uri.clone()).await?.into_inner();
    let tcp = Io::tcp(tcp, self.sockets.as_ref())?;
    if uri.scheme() != Some(&Scheme::HTTPS) {
      return Ok(tcp);
    }
    let host = uri.host().ok_or("no host in URL")?;
    let tls = handshake(Arc::clone(&self.tls), host, tcp).await?;
    Ok(Io::Tls(Box::new(tls)))
  }
}

/// A connection's byte stream: TCP (on tokio's reactor, or on the JS thread's loop), or TLS over
/// a stream (TCP, or a proxy's tunnel).
enum Io {
  Tcp(TcpStream),
  #[cfg(unix)]
  Local(UvStream),
  Tls(Box<tokio_rustls::client::TlsStream<Io>>),
}

/// Forwards an I/O call to whichever stream this is.
macro_rules! each_io {
  ($io:expr, $s:ident => $e:expr) => {
    match $io {
      Io::Tcp($s) => $e,
      #[cfg(unix)]
      Io::Local($s) => $e,
      Io::Tls($s) => $e,
    }
  };
}

impl Io {
  /// A freshly connected socket, moved onto the JS thread's loop for that engine's transport.
  fn tcp(tcp: TcpStream, sockets: Option<&LocalSockets>) -> io::Result<Io> {
    match sockets {
      None => Ok(Io::Tcp(tcp)),
      #[cfg(unix)]
      Some(s) => Ok(Io::Local(UvStream::adopt(tcp, s)?)),
      #[cfg(not(unix))]
      Some(s) => match *s {},
    }
  }
}

impl AsyncRead for Io {
  fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
    each_io!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
  }
}

impl AsyncWrite for Io {
  fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    each_io!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
  }

  fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
    each_io!(self.get_mut(), s => Pin::new(s).poll_write_vectored(cx, bufs))
  }

  fn is_write_vectored(&self) -> bool {
    each_io!(self, s => s.is_write_vectored())
  }

  fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    each_io!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
  }

  fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    each_io!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
  }
}

/// What the pool holds: the stream, and whether it goes to a forwarding proxy.
struct Conn {
  io: TokioIo<Io>,
  proxied: bool,
}

impl Connection for Conn {
  fn connected(&self) -> Connected {
    Connected::new().proxy(self.proxied)
  }
}

impl hyper::rt::Read for Conn {
  fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: hyper::rt::ReadBufCursor<'_>) -> Poll<io::Result<()>> {
    Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
  }
}

impl hyper::rt::Write for Conn {
  fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
  }

  fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
    Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
  }

  fn is_write_vectored(&self) -> bool {
    self.io.is_write_vectored()
  }

  fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    Pin::new(&mut self.get_mut().io).poll_flush(cx)
  }

  fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
  }
}

// ---- host URLs ----------------------------------------------------------------------------------

fn basic(user: &str, pass: &str) -> Result<HeaderValue, ConfigError> {
  let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
  let mut v = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| ConfigError::new("ERR_INVALID_AUTH", "auth: invalid credentials"))?;
  v.set_sensitive(true);
  Ok(v)
}

fn parse_host(raw: &str, global_auth: Option<&HeaderValue>) -> Result<Host, ConfigError> {
  let url = Url::parse(raw).map_err(|e| ConfigError::new("ERR_INVALID_URL", format!("invalid host URL: {e}")))?;
  if url.scheme() != "http" && url.scheme() != "https" {
    return Err(ConfigError::new("ERR_INVALID_URL", format!("unsupported protocol {:?} (use http:// or https://)", url.scheme())));
  }
  let host = url.host_str().ok_or_else(|| ConfigError::new("ERR_INVALID_URL", "host URL has no host"))?;
  let mut authority = host.to_string();
  if let Some(port) = url.port() {
    authority.push(':');
    authority.push_str(&port.to_string());
  }
  let prefix = url.path().trim_end_matches('/').to_string();
  let base = format!("{}://{}{}", url.scheme(), authority, prefix);
  let scheme = if url.scheme() == "https" { Scheme::HTTPS } else { Scheme::HTTP };
  let host_header = HeaderValue::from_str(&authority).map_err(|e| ConfigError::new("ERR_INVALID_URL", format!("invalid host URL: {e}")))?;
  let authority = Authority::from_maybe_shared(Bytes::from(authority)).map_err(|e| ConfigError::new("ERR_INVALID_URL", format!("invalid host URL: {e}")))?;
  let mut base_url = url.clone();
  let _ = base_url.set_username("");
  let _ = base_url.set_password(None);
  base_url.set_query(None);
  base_url.set_fragment(None);
  // An explicit `auth` option wins over credentials in the URL.
  let auth = match global_auth {
    Some(a) => Some(a.clone()),
    None if !url.username().is_empty() => {
      let user = percent_decode(url.username());
      let pass = percent_decode(url.password().unwrap_or(""));
      Some(basic(&user, &pass)?)
    }
    None => None,
  };
  Ok(Host { base, scheme, authority, host_header, prefix, base_url, auth, proxy_auth: None })
}

fn same_origin(a: &Url, b: &Url) -> bool {
  a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn percent_decode(s: &str) -> String {
  fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
  }
  let bytes = s.as_bytes();
  let mut out = Vec::with_capacity(bytes.len());
  let mut i = 0;
  while i < bytes.len() {
    if bytes[i] == b'%' && i + 2 < bytes.len() {
      if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
        out.push(h * 16 + l);
        i += 3;
        continue;
      }
    }
    out.push(bytes[i]);
    i += 1;
  }
  String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn host_userinfo_becomes_basic_auth_and_leaves_the_base() {
    let h = parse_host("http://us%40er:p%3Aw@127.0.0.1:2379/prefix/", None).unwrap();
    assert_eq!(h.base, "http://127.0.0.1:2379/prefix");
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("us@er:p:w"));
    assert_eq!(h.auth.unwrap().to_str().unwrap(), expected);
  }

  #[test]
  fn explicit_auth_wins_over_userinfo() {
    let global = basic("a", "b").unwrap();
    let h = parse_host("http://u:p@[::1]:2379", Some(&global)).unwrap();
    assert_eq!(h.base, "http://[::1]:2379");
    assert_eq!(h.auth.unwrap(), global);
  }

  #[test]
  fn other_schemes_are_rejected() {
    assert_eq!(parse_host("ftp://x:1", None).err().unwrap().code, "ERR_INVALID_URL");
    assert_eq!(parse_host("not a url", None).err().unwrap().code, "ERR_INVALID_URL");
  }

  #[test]
  fn redirect_origin_comparison() {
    let u = |s: &str| Url::parse(s).unwrap();
    assert!(same_origin(&u("http://a:1/x"), &u("http://a:1/y")));
    assert!(!same_origin(&u("http://a:1/x"), &u("http://b:1/x")));
    assert!(!same_origin(&u("http://a:1/x"), &u("http://a:2/x")));
  }

  #[test]
  fn request_urls_keep_prefix_encoding_and_query() {
    let h = parse_host("http://u:p@127.0.0.1:2379/pre/", None).unwrap();
    assert_eq!(h.request_uri("/v2/keys/a%20b%3Fc?x=%2F&y=1").unwrap().to_string(), "http://127.0.0.1:2379/pre/v2/keys/a%20b%3Fc?x=%2F&y=1");
    let plain = parse_host("HTTP://LocalHost:80", None).unwrap();
    assert_eq!(plain.request_uri("/v2/keys/k?").unwrap().to_string(), "http://localhost/v2/keys/k?");
    assert_eq!(plain.host_header, "localhost");
    assert_eq!(h.host_header, "127.0.0.1:2379");
  }

  #[test]
  fn unusual_targets_get_the_url_parsers_treatment() {
    let h = parse_host("http://127.0.0.1:2379/pre", None).unwrap();
    for (path, expected) in [
      ("/v2/a/../b", "http://127.0.0.1:2379/pre/v2/b"),
      ("/v2/%2E%2e/b", "http://127.0.0.1:2379/pre/b"),
      ("/v2/a b?q=\"x'", "http://127.0.0.1:2379/pre/v2/a%20b?q=%22x%27"),
      ("/v2/\u{e9}#f", "http://127.0.0.1:2379/pre/v2/%C3%A9%23f"),
    ] {
      assert!(!is_plain_target(path), "{path}");
      assert_eq!(h.request_uri(path).unwrap().to_string(), expected, "{path}");
    }
    for path in ["/v2/keys/a.b/.c/..d", "/v2/keys/%2Fx?a=b&c=%2E", "/v2/keys/|^"] {
      assert!(is_plain_target(path), "{path}");
      let mut url = h.base_url.clone();
      let (p, q) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
      url.set_path(&format!("{}{}", h.prefix, p));
      url.set_query(q);
      assert_eq!(h.request_uri(path).unwrap().to_string(), url.as_str(), "{path}");
    }
  }

  #[test]
  fn percent_decode_handles_truncated_escapes() {
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("%41%zz"), "A%zz");
  }
}
