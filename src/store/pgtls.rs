//! TLS to PostgreSQL, asked for the way libpq asks: `sslmode` and
//! `sslrootcert` in the URL. tokio-postgres knows `disable`, `prefer` and
//! `require` only and refuses `sslrootcert`, so both are taken out of the
//! URL here and the certificate check they mean is built for rustls
//! (through tokio-postgres-rustls). Managed PostgreSQL (RDS, Cloud SQL,
//! Azure) is reached over TLS, usually with `verify-full` and the
//! provider's CA file.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// libpq's `sslmode` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it (libpq's default).
    Prefer,
    Require,
    /// The server's certificate chains to a trusted root.
    VerifyCa,
    /// ...and names the host connected to.
    VerifyFull,
}

/// Where trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// `sslrootcert=/path/ca.pem`: the CA certificates in this PEM file.
    File(PathBuf),
    /// `sslrootcert=system`, or no `sslrootcert` with a `verify-` mode:
    /// Mozilla's roots (webpki-roots), which public CAs sign for.
    Public,
}

/// A PostgreSQL URL, split into what tokio-postgres reads and the TLS
/// check escucha builds.
#[derive(Debug, Clone)]
pub struct PgUrl {
    pub config: tokio_postgres::Config,
    pub mode: SslMode,
    /// Given (or implied by a `verify-` mode); with `require` or `prefer`
    /// a given file makes the check `verify-ca`, as in libpq.
    pub root_cert: Option<RootCert>,
}

/// The URL parameters tokio-postgres reads (its `Config`), besides the two
/// read here.
const KNOWN: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "host",
    "hostaddr",
    "port",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
    "sslnegotiation",
];

impl PgUrl {
    pub fn parse(url: &str) -> Result<PgUrl, String> {
        let mut parsed = url::Url::parse(url).map_err(|e| format!("is not a URL ({e})"))?;
        let mut mode = SslMode::Prefer;
        let mut root_cert = None;
        let mut rest = Vec::new();
        for (k, v) in parsed.query_pairs() {
            match k.as_ref() {
                "sslmode" => {
                    mode = match v.as_ref() {
                        "disable" => SslMode::Disable,
                        "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        other => return Err(format!("sslmode={other}: use disable, prefer, require, verify-ca or verify-full")),
                    }
                }
                "sslrootcert" if v == "system" => root_cert = Some(RootCert::Public),
                "sslrootcert" if v.is_empty() => return Err("sslrootcert is empty: give the CA file's path, or \"system\"".into()),
                "sslrootcert" => root_cert = Some(RootCert::File(PathBuf::from(v.as_ref()))),
                "sslcert" | "sslkey" | "sslpassword" | "sslcrl" => {
                    return Err(format!("{k}: client certificates are not supported; authenticate with a password"));
                }
                k if KNOWN.contains(&k) => rest.push((k.to_string(), v.into_owned())),
                // tokio-postgres would say only "invalid connection string".
                k => return Err(format!("{k}: not a connection parameter escucha knows (it knows sslmode, sslrootcert, {})", KNOWN.join(", "))),
            }
        }
        if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && root_cert.is_none() {
            root_cert = Some(RootCert::Public);
        }
        if rest.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(rest);
        }
        let mut config: tokio_postgres::Config = parsed.as_str().parse().map_err(|e| format!("is not a PostgreSQL URL escucha can read ({e})"))?;
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        Ok(PgUrl { config, mode, root_cert })
    }

    /// What `escucha check` says about the connection's security.
    pub fn describe(&self) -> String {
        let roots = match &self.root_cert {
            Some(RootCert::File(p)) => format!(", roots from {}", p.display()),
            Some(RootCert::Public) => ", Mozilla's public roots".to_string(),
            None => String::new(),
        };
        match (self.mode, &self.root_cert) {
            (SslMode::Disable, _) => "TLS off (sslmode=disable)".to_string(),
            (SslMode::VerifyFull, _) => format!("TLS, certificate and host name checked (verify-full{roots})"),
            (SslMode::VerifyCa, _) | (_, Some(_)) => format!("TLS, certificate checked, not its host name (verify-ca{roots})"),
            (SslMode::Require, None) => "TLS, certificate not checked (sslmode=require; verify-full checks it)".to_string(),
            (SslMode::Prefer, None) => "TLS if the server offers it, certificate not checked (sslmode=prefer, the default)".to_string(),
        }
    }

    /// The connector for this URL; None when TLS is off.
    pub fn connector(&self) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, String> {
        if self.mode == SslMode::Disable {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match &self.root_cert {
            None => Arc::new(AnyCertificate(provider.clone())),
            Some(roots) => {
                let store = Arc::new(root_store(roots)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(store, provider.clone()).build().map_err(|e| format!("TLS roots: {e}"))?;
                if self.mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
    }
}

fn root_store(roots: &RootCert) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        RootCert::Public => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        RootCert::File(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("sslrootcert={}: cannot read CA certificates ({e})", path.display()))?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("sslrootcert={}: holds no CA certificate (PEM, -----BEGIN CERTIFICATE-----)", path.display()));
            }
        }
    }
    Ok(store)
}

/// verify-ca, and require/prefer with a root file: the chain is checked,
/// the name is not (a server reached by an address its certificate does
/// not list). rustls checks the chain before the name, so a name error
/// means the chain was good.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// require/prefer without roots, as libpq: encrypted, the certificate not
/// checked (the handshake's signatures still are).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
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
    fn libpq_words_become_a_mode_and_leave_the_url_tokio_postgres_reads() {
        let cases: &[(&str, SslMode, Option<RootCert>)] = &[
            ("postgres://u@db/escucha", SslMode::Prefer, None),
            ("postgres://u@db/escucha?sslmode=disable", SslMode::Disable, None),
            ("postgres://u@db/escucha?sslmode=require", SslMode::Require, None),
            ("postgres://u@db/escucha?sslmode=require&sslrootcert=/etc/ca.pem", SslMode::Require, Some(RootCert::File("/etc/ca.pem".into()))),
            ("postgres://u@db/escucha?sslmode=verify-ca&sslrootcert=/etc/ca.pem", SslMode::VerifyCa, Some(RootCert::File("/etc/ca.pem".into()))),
            ("postgres://u@db/escucha?sslmode=verify-full", SslMode::VerifyFull, Some(RootCert::Public)),
            ("postgres://u@db/escucha?sslrootcert=system&sslmode=verify-full&connect_timeout=3", SslMode::VerifyFull, Some(RootCert::Public)),
        ];
        for (url, mode, roots) in cases {
            let p = PgUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((p.mode, &p.root_cert), (*mode, roots), "{url}");
            let want = if *mode == SslMode::Disable {
                tokio_postgres::config::SslMode::Disable
            } else if *mode == SslMode::Prefer {
                tokio_postgres::config::SslMode::Prefer
            } else {
                tokio_postgres::config::SslMode::Require
            };
            assert_eq!(p.config.get_ssl_mode(), want, "{url}");
        }
        let p = PgUrl::parse("postgres://u@db/escucha?sslmode=verify-full&connect_timeout=3").unwrap();
        assert_eq!(p.config.get_connect_timeout(), Some(&std::time::Duration::from_secs(3)), "the other parameters are kept");
    }

    #[test]
    fn unknown_modes_and_client_certificates_are_refused_by_name() {
        let e = PgUrl::parse("postgres://u@db/e?sslmode=verify_full").unwrap_err();
        assert!(e.contains("sslmode=verify_full") && e.contains("verify-full"), "{e}");
        let e = PgUrl::parse("postgres://u@db/e?sslcert=/c.pem").unwrap_err();
        assert!(e.contains("sslcert") && e.contains("not supported"), "{e}");
        let e = PgUrl::parse("postgres://u@db/e?sslrootcert=").unwrap_err();
        assert!(e.contains("sslrootcert is empty"), "{e}");
        let e = PgUrl::parse("postgres://u@db/e?frobnicate=1").unwrap_err();
        assert!(e.contains("frobnicate: not a connection parameter") && e.contains("connect_timeout"), "{e}");
    }

    #[test]
    fn a_root_file_that_is_not_there_or_holds_no_certificate_says_so() {
        let p = PgUrl::parse("postgres://u@db/e?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem").unwrap();
        let e = p.connector().err().unwrap();
        assert!(e.contains("/nonexistent/ca.pem") && e.contains("cannot read"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let p = PgUrl::parse(&format!("postgres://u@db/e?sslmode=verify-ca&sslrootcert={}", empty.display())).unwrap();
        let e = p.connector().err().unwrap();
        assert!(e.contains("holds no CA certificate"), "{e}");
        assert!(PgUrl::parse("postgres://u@db/e?sslmode=disable").unwrap().connector().unwrap().is_none());
        assert!(PgUrl::parse("postgres://u@db/e?sslmode=verify-full").unwrap().connector().unwrap().is_some(), "public roots");
    }

    #[test]
    fn check_says_what_is_checked() {
        let d = |u: &str| PgUrl::parse(u).unwrap().describe();
        assert!(d("postgres://u@db/e").contains("not checked"));
        assert!(d("postgres://u@db/e?sslmode=verify-full&sslrootcert=/ca.pem").contains("host name checked (verify-full, roots from /ca.pem)"));
        assert!(d("postgres://u@db/e?sslmode=require&sslrootcert=/ca.pem").contains("verify-ca"));
        assert!(d("postgres://u@db/e?sslmode=disable").contains("TLS off"));
    }
}
