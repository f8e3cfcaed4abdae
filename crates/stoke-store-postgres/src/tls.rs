//! TLS to the database, chosen in the URL the way libpq's users know it:
//! `sslmode=disable|prefer|require|verify-ca|verify-full` and `sslrootcert=FILE` (PEM), in a
//! `postgres://` URL's query or a `key=value` connection string.
//!
//! - `disable`: plain TCP.
//! - `prefer` (the default, as in libpq): TLS when the server offers it, plain otherwise; the
//!   certificate is not checked, so it protects against listening, not against impersonation.
//! - `require`: TLS or no connection; the certificate is checked against `sslrootcert` when one
//!   is given (libpq does the same), otherwise not.
//! - `verify-ca`: TLS with a certificate issued by a trusted authority: `sslrootcert`, or
//!   without one (or with `sslrootcert=system`) the Mozilla root list compiled into the binary.
//! - `verify-full`: `verify-ca`, and the certificate must name the host connected to.
//!
//! tokio-postgres itself knows only disable, prefer and require; the two `verify-*` modes are
//! `require` on its side with a certificate verifier that enforces them on ours.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use stoke_store::{StoreError, StoreResult};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a connection is secured, as the URL asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    fn parse(value: &str) -> StoreResult<Self> {
        Ok(match value {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(invalid(format!(
                    "sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// A connection string read: tokio-postgres's configuration and the TLS connector to use with it.
#[derive(Clone)]
pub(crate) struct Connection {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    pub mode: TlsMode,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration holds the password: never printed.
        f.debug_struct("Connection")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

fn invalid(message: String) -> StoreError {
    StoreError::Backend(format!("the PostgreSQL URL is not valid: {message}"))
}

/// Reads a connection string (`postgres://...` or `key=value ...`), taking out the TLS options
/// tokio-postgres does not read itself.
pub(crate) fn parse(url: &str) -> StoreResult<Connection> {
    let (rest, mode, root) = take_tls_options(url)?;
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e| invalid(format!("{e}")))?;
    config.ssl_mode(match mode {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
    });
    let tls = MakeRustlsConnect::new(client_config(mode, root.as_ref())?);
    Ok(Connection { config, tls, mode })
}

/// Where trusted authorities come from: a PEM file, or the compiled-in Mozilla list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    File(PathBuf),
    System,
}

/// The connection string without `sslmode` and `sslrootcert`, with their values.
fn take_tls_options(url: &str) -> StoreResult<(String, TlsMode, Option<Roots>)> {
    let mut mode = None;
    let mut root = None;
    let mut take = |key: &str, value: &str| -> StoreResult<bool> {
        match key {
            "sslmode" => mode = Some(TlsMode::parse(value)?),
            "sslrootcert" if value.is_empty() => {
                return Err(invalid("sslrootcert is empty".into()));
            }
            "sslrootcert" if value == "system" => root = Some(Roots::System),
            "sslrootcert" => root = Some(Roots::File(PathBuf::from(value))),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut parsed = url::Url::parse(url).map_err(|e| invalid(format!("{e}")))?;
        let mut kept = Vec::new();
        for (key, value) in parsed.query_pairs() {
            if !take(&key, &value)? {
                kept.push((key.into_owned(), value.into_owned()));
            }
        }
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        parsed.to_string()
    } else {
        let mut kept = Vec::new();
        for part in url.split_whitespace() {
            match part.split_once('=') {
                Some((key, value)) if take(key.trim(), value.trim_matches('\''))? => {}
                _ => kept.push(part),
            }
        }
        kept.join(" ")
    };
    let mode = mode.unwrap_or(match root {
        // libpq: a root certificate given with no mode means it is to be used.
        Some(_) => TlsMode::VerifyCa,
        None => TlsMode::Prefer,
    });
    Ok((rest, mode, root))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(mode: TlsMode, root: Option<&Roots>) -> StoreResult<rustls::ClientConfig> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("cannot set up TLS: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, root) {
        (TlsMode::Disable | TlsMode::Prefer, _) | (TlsMode::Require, None) => {
            Arc::new(Unverified { algorithms })
        }
        (TlsMode::Require, Some(_)) | (TlsMode::VerifyCa, _) => {
            Arc::new(AnyName(webpki(root, provider)?))
        }
        (TlsMode::VerifyFull, root) => webpki(root, provider)?,
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn webpki(
    root: Option<&Roots>,
    provider: Arc<CryptoProvider>,
) -> StoreResult<Arc<WebPkiServerVerifier>> {
    let mut store = RootCertStore::empty();
    match root {
        Some(Roots::File(path)) => {
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| invalid(format!("sslrootcert {}: {e}", path.display())))?;
            let (added, _) = store.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(invalid(format!(
                    "sslrootcert {}: no certificate in it could be read",
                    path.display()
                )));
            }
        }
        Some(Roots::System) | None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
        .build()
        .map_err(|e| StoreError::Backend(format!("cannot set up TLS: {e}")))
}

/// `require` and `prefer` without a root certificate, as libpq: encrypted, the certificate taken
/// as it comes. The handshake's signatures are still checked against the certificate presented.
#[derive(Debug)]
struct Unverified {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Unverified {
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

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted authority; the name in it is not compared with
/// the host (a server reached by an address its certificate does not list).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(url: &str) -> (String, TlsMode, Option<Roots>) {
        take_tls_options(url).expect("valid")
    }

    #[test]
    fn tls_options_are_taken_out_of_urls_and_connection_strings() {
        assert_eq!(
            options("postgres://u:p@db:5432/stoke"),
            ("postgres://u:p@db:5432/stoke".into(), TlsMode::Prefer, None)
        );
        assert_eq!(
            options(
                "postgres://u@db/stoke?sslmode=verify-full&application_name=x&sslrootcert=/ca.pem"
            ),
            (
                "postgres://u@db/stoke?application_name=x".into(),
                TlsMode::VerifyFull,
                Some(Roots::File("/ca.pem".into()))
            )
        );
        assert_eq!(
            options("host=db user=u sslmode=require dbname=stoke").0,
            "host=db user=u dbname=stoke"
        );
        assert_eq!(options("host=db sslrootcert=system").1, TlsMode::VerifyCa);
        assert_eq!(
            options("postgres://db/x?sslmode=disable").0,
            "postgres://db/x"
        );
    }

    #[test]
    fn unknown_modes_and_unreadable_roots_are_named() {
        let err = take_tls_options("postgres://db/x?sslmode=verify").expect_err("refused");
        assert!(err.to_string().contains("sslmode \"verify\""), "{err}");
        let err = parse("postgres://db/x?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
            .expect_err("refused");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
