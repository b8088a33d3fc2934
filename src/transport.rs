//! One HTTP exchange with one etcd member: the connection pool, TLS, Basic auth, proxies,
//! the per-attempt timeout and redirects.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, Url};

use crate::error::{classify, ConfigError, TransportError};
use crate::tls::{client_config, TlsMaterial};

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
  /// HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment, as node-etcd did.
  Environment,
  Fixed(String),
  Disabled,
}

/// A member's base URL without credentials, and the Authorization header to send it.
pub struct Host {
  /// For messages and `errors[i].server`: the base URL without credentials.
  pub base: String,
  /// Parsed once: building a request URL then only parses its path and query (no host or
  /// IDNA work per call).
  base_url: Url,
  /// The host URL's path prefix (no trailing slash), prepended to every request path.
  prefix: String,
  auth: Option<HeaderValue>,
}

pub struct Response {
  pub status: u16,
  /// Lower-cased names and values joined by newlines: `name\nvalue\nname\nvalue` (HTTP header
  /// values cannot contain a newline). One string crosses into JS instead of one per header.
  pub headers: String,
  pub body: String,
}

pub struct Transport {
  client: reqwest::Client,
  pub hosts: Vec<Host>,
  default_headers: HeaderMap,
}

impl Transport {
  pub fn new(opts: TransportOptions) -> Result<Self, ConfigError> {
    let global_auth = opts.auth.as_ref().map(|(u, p)| basic(u, p)).transpose()?;
    let hosts = opts
      .hosts
      .iter()
      .map(|h| parse_host(h, global_auth.as_ref()))
      .collect::<Result<Vec<_>, _>>()?;

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

    let mut builder = reqwest::Client::builder()
      // Redirects are followed by hand: node-etcd keeps the method only on 307.
      .redirect(reqwest::redirect::Policy::none())
      .tls_backend_preconfigured(client_config(&opts.tls)?)
      .http1_only()
      .tcp_nodelay(true)
      .pool_idle_timeout(Duration::from_secs(30));
    if let Some(t) = opts.timeout {
      // node-etcd's `timeout` is an idle timeout per attempt: for the connect and for each read.
      builder = builder.connect_timeout(t).read_timeout(t);
    }
    builder = match &opts.proxy {
      ProxyMode::Environment => builder,
      ProxyMode::Disabled => builder.no_proxy(),
      ProxyMode::Fixed(url) => {
        let proxy = reqwest::Proxy::all(url.as_str()).map_err(|e| ConfigError::new("ERR_INVALID_PROXY", format!("proxy: {e}")))?;
        builder.proxy(proxy)
      }
    };
    let client = builder.build().map_err(|e| ConfigError::new("ERR_CLIENT_INIT", e.to_string()))?;
    Ok(Self { client, hosts, default_headers })
  }

  /// The same client (connection pool, TLS, headers) for another host list.
  pub fn with_hosts(&self, hosts: &[String], auth: Option<&(String, String)>) -> Result<Self, ConfigError> {
    let global_auth = auth.map(|(u, p)| basic(u, p)).transpose()?;
    let hosts = hosts.iter().map(|h| parse_host(h, global_auth.as_ref())).collect::<Result<Vec<_>, _>>()?;
    Ok(Self { client: self.client.clone(), hosts, default_headers: self.default_headers.clone() })
  }

  /// Sends one request to host `index`, following redirects; any status is a response.
  pub async fn send(&self, index: usize, method: &Method, path: &str, body: Option<&Body>) -> Result<Response, TransportError> {
    let head = self.send_head(index, method, path, body).await?;
    read_response(head).await
  }

  /// Like `send`, but returns as soon as the final response's headers arrive (a v2 watch
  /// flushes them at registration and the body only when an event happens).
  pub async fn send_head(&self, index: usize, method: &Method, path: &str, body: Option<&Body>) -> Result<reqwest::Response, TransportError> {
    let host = &self.hosts[index];
    let mut url = host.base_url.clone();
    let (path_part, query) = match path.split_once('?') {
      Some((p, q)) => (p, Some(q)),
      None => (path, None),
    };
    if host.prefix.is_empty() {
      url.set_path(path_part);
    } else {
      url.set_path(&format!("{}{}", host.prefix, path_part));
    }
    url.set_query(query);
    let mut method = method.clone();
    let mut body = body.cloned();
    let mut auth = host.auth.clone();
    let mut hops = 0;
    loop {
      let mut req = self.client.request(method.clone(), url.clone()).headers(self.default_headers.clone());
      if let Some(a) = &auth {
        req = req.header(AUTHORIZATION, a);
      }
      req = match &body {
        Some(b) => req.header(CONTENT_TYPE, b.content_type).body(b.bytes.clone()),
        // node-etcd sends an explicit zero length on every method but GET when there is no value.
        None if method != Method::GET => req.header(CONTENT_LENGTH, "0"),
        None => req,
      };
      let resp = req.send().await.map_err(|e| classify(&e))?;
      let status = resp.status().as_u16();

      if (300..400).contains(&status) {
        if let Some(next) = resp.headers().get(LOCATION).and_then(|l| l.to_str().ok()).and_then(|l| url.join(l).ok()) {
          if hops == MAX_REDIRECTS {
            return Err(TransportError::new(
              "ERR_TOO_MANY_REDIRECTS",
              format!("Exceeded maxRedirects. Probably stuck in a redirect loop {}", strip_userinfo(next.as_str())),
            ));
          }
          hops += 1;
          if status != 307 {
            method = Method::GET;
            body = None;
          }
          if !same_origin(&url, &next) {
            // Credentials never follow a redirect to another host.
            auth = None;
          }
          url = next;
          continue;
        }
      }
      return Ok(resp);
    }
  }
}

/// Response headers, lower-cased as Node has them, as `name\nvalue\nname\nvalue`.
pub fn flat_headers(resp: &reqwest::Response) -> String {
  let mut headers = String::with_capacity(resp.headers().len() * 40);
  for (name, value) in resp.headers() {
    if !headers.is_empty() {
      headers.push('\n');
    }
    headers.push_str(name.as_str());
    headers.push('\n');
    headers.push_str(&String::from_utf8_lossy(value.as_bytes()));
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

/// Reads the whole body (UTF-8, invalid sequences replaced, as Node's `toString()` does).
pub async fn read_response(resp: reqwest::Response) -> Result<Response, TransportError> {
  let status = resp.status().as_u16();
  let headers = flat_headers(&resp);
  let bytes = resp.bytes().await.map_err(|e| classify(&e))?;
  let body = match String::from_utf8(bytes.to_vec()) {
    Ok(s) => s,
    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
  };
  Ok(Response { status, headers, body })
}

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
  let mut base = format!("{}://{}", url.scheme(), host);
  if let Some(port) = url.port() {
    base.push(':');
    base.push_str(&port.to_string());
  }
  let prefix = url.path().trim_end_matches('/').to_string();
  base.push_str(&prefix);
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
  Ok(Host { base, base_url, prefix, auth })
}

fn same_origin(a: &Url, b: &Url) -> bool {
  a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn strip_userinfo(url: &str) -> String {
  match Url::parse(url) {
    Ok(mut u) => {
      let _ = u.set_username("");
      let _ = u.set_password(None);
      u.to_string()
    }
    Err(_) => url.to_string(),
  }
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
    assert_eq!(h.base_url.as_str(), "http://127.0.0.1:2379/pre/");
    let mut url = h.base_url.clone();
    url.set_path(&format!("{}{}", h.prefix, "/v2/keys/a%20b%3Fc"));
    url.set_query(Some("x=%2F&y=1"));
    assert_eq!(url.as_str(), "http://127.0.0.1:2379/pre/v2/keys/a%20b%3Fc?x=%2F&y=1");
  }

  #[test]
  fn percent_decode_handles_truncated_escapes() {
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("%41%zz"), "A%zz");
  }
}
