//! TLS material as Node users pass it (`ca`, `cert`, `key`, `passphrase`, `pfx`,
//! `rejectUnauthorized`), turned into a rustls client configuration.

use std::sync::Arc;

use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer, ServerName, UnixTime};

use crate::error::ConfigError;

#[derive(Default, Clone)]
pub struct TlsMaterial {
  /// PEM (or DER) CA certificates; when given they replace the default roots, as in Node.
  pub ca: Vec<Vec<u8>>,
  pub cert: Option<Vec<u8>>,
  pub key: Option<Vec<u8>>,
  pub passphrase: Option<String>,
  pub pfx: Option<Vec<u8>>,
  pub reject_unauthorized: bool,
}

pub fn provider() -> Arc<CryptoProvider> {
  Arc::new(rustls::crypto::ring::default_provider())
}

pub fn client_config(m: &TlsMaterial) -> Result<ClientConfig, ConfigError> {
  let provider = provider();
  let builder = ClientConfig::builder_with_provider(provider.clone())
    .with_safe_default_protocol_versions()
    .map_err(|e| ConfigError::new("ERR_TLS_CONFIG", e.to_string()))?;

  // The CA material is checked even when verification is off: unusable input is an error.
  let roots = root_store(&m.ca)?;
  let builder = if m.reject_unauthorized {
    builder.with_root_certificates(roots)
  } else {
    builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider)))
  };

  let identity = client_identity(m)?;
  let config = match identity {
    Some((chain, key)) => builder
      .with_client_auth_cert(chain, key)
      .map_err(|e| match e {
        rustls::Error::InvalidCertificate(_) => ConfigError::new("ERR_TLS_INVALID_CERT", format!("cert: unusable client certificate: {e}")),
        _ => ConfigError::new("ERR_TLS_INVALID_KEY", format!("client certificate and key do not match or are unsupported: {e}")),
      })?,
    None => builder.with_no_client_auth(),
  };
  Ok(config)
}

/// The client side of a TLS handshake with `host` (a URI host: IPv6 literals keep their brackets)
/// over an open stream; v2 and v3 connections both go through here.
pub async fn handshake<IO>(config: Arc<ClientConfig>, host: &str, io: IO) -> std::io::Result<tokio_rustls::client::TlsStream<IO>>
where
  IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
  let bare = host.trim_start_matches('[').trim_end_matches(']');
  let name = ServerName::try_from(bare.to_string()).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
  tokio_rustls::TlsConnector::from(config).connect(name, io).await
}

fn root_store(ca: &[Vec<u8>]) -> Result<RootCertStore, ConfigError> {
  let mut roots = RootCertStore::empty();
  if ca.is_empty() {
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    return Ok(roots);
  }
  for material in ca {
    let certs = certificates(material, "ERR_TLS_INVALID_CA", "ca")?;
    for cert in certs {
      roots
        .add(cert)
        .map_err(|e| ConfigError::new("ERR_TLS_INVALID_CA", format!("ca: unusable CA certificate: {e}")))?;
    }
  }
  Ok(roots)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn client_identity(m: &TlsMaterial) -> Result<Option<Identity>, ConfigError> {
  if let Some(pfx) = &m.pfx {
    let pass = m.passphrase.as_deref().unwrap_or("");
    let store = p12_keystore::KeyStore::from_pkcs12(pfx, pass, p12_keystore::Pkcs12ImportPolicy::Relaxed).map_err(|e| match e {
      // The MAC over the archive is keyed by the passphrase: a mismatch means a wrong one.
      p12_keystore::error::Error::MacError(_) => ConfigError::new("ERR_TLS_BAD_PASSPHRASE", "pfx: wrong passphrase (MAC check failed)"),
      e => ConfigError::new("ERR_TLS_INVALID_PFX", format!("pfx: cannot read PKCS#12: {e}")),
    })?;
    let (_, chain) = store
      .private_key_chain()
      .ok_or_else(|| ConfigError::new("ERR_TLS_INVALID_PFX", "pfx: no private key in the PKCS#12 file"))?;
    let certs = chain.certs().iter().map(|c| CertificateDer::from(c.as_der().to_vec())).collect::<Vec<_>>();
    if certs.is_empty() {
      return Err(ConfigError::new("ERR_TLS_INVALID_PFX", "pfx: no certificate for the private key"));
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
    return Ok(Some((certs, key)));
  }
  match (&m.cert, &m.key) {
    (None, None) => Ok(None),
    (Some(_), None) => Err(ConfigError::new("ERR_TLS_INVALID_KEY", "cert was given without key")),
    (None, Some(_)) => Err(ConfigError::new("ERR_TLS_INVALID_CERT", "key was given without cert")),
    (Some(cert), Some(key)) => {
      let chain = certificates(cert, "ERR_TLS_INVALID_CERT", "cert")?;
      let key = private_key(key, m.passphrase.as_deref())?;
      Ok(Some((chain, key)))
    }
  }
}

/// One PEM block: its label, any RFC 1421 headers (legacy encrypted keys) and the decoded bytes.
struct PemBlock {
  label: String,
  headers: Vec<String>,
  der: Vec<u8>,
}

fn pem_blocks(data: &[u8]) -> Result<Vec<PemBlock>, String> {
  let text = std::str::from_utf8(data).map_err(|_| "not PEM text".to_string())?;
  let mut blocks = Vec::new();
  let mut lines = text.lines();
  while let Some(line) = lines.next() {
    let line = line.trim();
    let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else { continue };
    let end = format!("-----END {label}-----");
    let mut headers = Vec::new();
    let mut body = String::new();
    let mut closed = false;
    for inner in lines.by_ref() {
      let inner = inner.trim();
      if inner == end {
        closed = true;
        break;
      }
      if inner.contains(':') {
        headers.push(inner.to_string());
      } else {
        body.push_str(inner);
      }
    }
    if !closed {
      return Err(format!("unterminated PEM block {label}"));
    }
    let der = base64::engine::general_purpose::STANDARD
      .decode(body.as_bytes())
      .map_err(|e| format!("bad base64 in PEM block {label}: {e}"))?;
    blocks.push(PemBlock { label: label.to_string(), headers, der });
  }
  Ok(blocks)
}

fn looks_like_pem(data: &[u8]) -> bool {
  data.windows(11).any(|w| w == b"-----BEGIN ")
}

fn certificates(data: &[u8], code: &'static str, what: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
  if !looks_like_pem(data) {
    // A DER certificate starts with a SEQUENCE tag.
    if data.first() == Some(&0x30) {
      return Ok(vec![CertificateDer::from(data.to_vec())]);
    }
    return Err(ConfigError::new(code, format!("{what}: not a PEM or DER certificate")));
  }
  let blocks = pem_blocks(data).map_err(|e| ConfigError::new(code, format!("{what}: {e}")))?;
  let certs: Vec<_> = blocks
    .into_iter()
    .filter(|b| b.label == "CERTIFICATE" || b.label == "TRUSTED CERTIFICATE" || b.label == "X509 CERTIFICATE")
    .map(|b| CertificateDer::from(b.der))
    .collect();
  if certs.is_empty() {
    return Err(ConfigError::new(code, format!("{what}: no certificate found in PEM data")));
  }
  Ok(certs)
}

fn private_key(data: &[u8], passphrase: Option<&str>) -> Result<PrivateKeyDer<'static>, ConfigError> {
  let bad = |msg: String| ConfigError::new("ERR_TLS_INVALID_KEY", format!("key: {msg}"));
  if !looks_like_pem(data) {
    if data.first() == Some(&0x30) {
      return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(data.to_vec())));
    }
    return Err(bad("not a PEM or DER private key".into()));
  }
  let blocks = pem_blocks(data).map_err(bad)?;
  for b in blocks {
    if b.headers.iter().any(|h| h.starts_with("Proc-Type") && h.contains("ENCRYPTED")) {
      return Err(bad(
        "legacy encrypted PEM keys (Proc-Type: 4,ENCRYPTED) are not supported; convert with `openssl pkcs8 -topk8` to an ENCRYPTED PRIVATE KEY".into(),
      ));
    }
    match b.label.as_str() {
      "PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(b.der))),
      "RSA PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(b.der))),
      "EC PRIVATE KEY" => return Ok(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(b.der))),
      "ENCRYPTED PRIVATE KEY" => {
        let Some(pass) = passphrase else {
          return Err(ConfigError::new("ERR_TLS_BAD_PASSPHRASE", "key: the private key is encrypted and no passphrase was given"));
        };
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(b.der.as_slice()).map_err(|e| bad(format!("unreadable encrypted key: {e}")))?;
        let doc = info
          .decrypt(pass.as_bytes())
          .map_err(|_| ConfigError::new("ERR_TLS_BAD_PASSPHRASE", "key: cannot decrypt the private key (wrong passphrase or unsupported cipher)"))?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(doc.as_bytes().to_vec())));
      }
      _ => continue,
    }
  }
  Err(bad("no private key found in PEM data".into()))
}

/// `rejectUnauthorized: false`: accept any server certificate but still check the handshake
/// signatures, so the connection is encrypted to whoever holds the presented key.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
  fn verify_server_cert(
    &self,
    _end_entity: &CertificateDer<'_>,
    _intermediates: &[CertificateDer<'_>],
    _server_name: &ServerName<'_>,
    _ocsp: &[u8],
    _now: UnixTime,
  ) -> Result<ServerCertVerified, rustls::Error> {
    Ok(ServerCertVerified::assertion())
  }

  fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
  }

  fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
  }

  fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
    self.0.signature_verification_algorithms.supported_schemes()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn garbage_ca_is_a_config_error() {
    let m = TlsMaterial { ca: vec![b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".to_vec()], reject_unauthorized: true, ..Default::default() };
    let err = client_config(&m).unwrap_err();
    assert_eq!(err.code, "ERR_TLS_INVALID_CA");
  }

  #[test]
  fn cert_without_key_is_rejected() {
    let m = TlsMaterial { cert: Some(b"x".to_vec()), reject_unauthorized: true, ..Default::default() };
    assert_eq!(client_config(&m).unwrap_err().code, "ERR_TLS_INVALID_KEY");
  }

  #[test]
  fn encrypted_key_without_passphrase_is_rejected() {
    let pem = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert_eq!(private_key(pem, None).unwrap_err().code, "ERR_TLS_BAD_PASSPHRASE");
  }

  #[test]
  fn unterminated_pem_is_reported() {
    assert!(pem_blocks(b"-----BEGIN CERTIFICATE-----\nAAAA\n").is_err());
  }

  #[test]
  fn default_roots_when_no_ca() {
    let m = TlsMaterial { reject_unauthorized: true, ..Default::default() };
    assert!(client_config(&m).is_ok());
  }
}
