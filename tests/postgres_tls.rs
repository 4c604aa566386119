//! PostgreSQL over TLS, against a real server that takes TCP connections
//! over TLS only (`hostssl` in pg_hba.conf) and serves a certificate for
//! `localhost` signed by a test CA (tests/fixtures/keys/README.md). The
//! URL carries libpq's words: `sslmode` and `sslrootcert`. One cluster,
//! every case in one test: starting PostgreSQL is the slow part.

use std::path::{Path, PathBuf};
use std::process::Command;

use escucha::store::testdb::Cluster;
use escucha::store::Store;

fn key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys").join(name)
}

/// Opens a store (which connects and migrates) at `url`; the error's text.
fn open(url: &str) -> Result<Store, String> {
    Store::open_postgres(url).map_err(|e| {
        // The whole chain: the TLS reason is in the sources.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    })
}

#[test]
fn postgres_over_tls_checks_what_sslmode_says_and_never_falls_back_to_plain_text() {
    let cluster = Cluster::start_tls(&key("pg_test_server.pem"), &key("pg_test_server.key"));
    let db = {
        // Made over TLS too: the server takes nothing else on TCP.
        let admin = format!("postgres://escucha@localhost:{}/postgres?sslmode=require", cluster.port());
        escucha::store::testdb::create_database(&admin)
    };
    let name = db.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let port = cluster.port();
    let ca = key("pg_test_ca.pem");
    let other = key("pg_test_other_ca.pem");
    // A password the server does not need (trust): it must never be shown.
    let url = |host: &str, query: &str| format!("postgres://escucha:s3cret-pw@{host}:{port}/{name}?{query}");

    // verify-full: the chain and the name. The store works: migrate, write, read.
    let store = open(&url("localhost", &format!("sslmode=verify-full&sslrootcert={}", ca.display()))).unwrap_or_else(|e| panic!("verify-full: {e}"));
    let now = chrono::Utc::now();
    store.add_silence("interjet", None, Some("someone"), now + chrono::Duration::hours(1), "tls test", "ana", now).expect("a write over TLS");
    assert_eq!(store.active_silences(now).expect("a read over TLS").len(), 1);
    drop(store);

    // The same server refuses plain text, so the connections above were TLS.
    let e = open(&url("localhost", "sslmode=disable")).err().expect("plain text is refused by this server");
    assert!(e.contains("pg_hba.conf") && e.contains("no encryption"), "{e}");

    // The name is checked: the certificate is for localhost, not 127.0.0.1.
    let e = open(&url("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={}", ca.display()))).err().expect("a name the certificate lacks");
    assert!(e.to_lowercase().contains("certificate") && e.contains("not valid for name"), "{e}");
    // verify-ca checks the chain only: the same address is fine.
    open(&url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={}", ca.display()))).unwrap_or_else(|e| panic!("verify-ca: {e}"));
    // ...and so does require with a root file (libpq: it then means verify-ca).
    open(&url("127.0.0.1", &format!("sslmode=require&sslrootcert={}", ca.display()))).unwrap_or_else(|e| panic!("require + root: {e}"));

    // A CA that did not sign the server's certificate: refused, with why.
    for mode in ["verify-full", "verify-ca", "require"] {
        let e = open(&url("localhost", &format!("sslmode={mode}&sslrootcert={}", other.display()))).err().unwrap_or_else(|| panic!("{mode} with another CA"));
        assert!(e.contains("UnknownIssuer") || e.contains("unknown issuer"), "{mode}: {e}");
        assert!(!e.contains("s3cret-pw"), "never the password: {e}");
    }
    // Mozilla's roots (no sslrootcert) do not know a private CA either.
    let e = open(&url("localhost", "sslmode=verify-full")).err().expect("public roots refuse a private CA");
    assert!(e.contains("UnknownIssuer") || e.contains("unknown issuer"), "{e}");

    // require and prefer without a root file: encrypted, not checked (libpq's meaning).
    open(&url("127.0.0.1", "sslmode=require")).unwrap_or_else(|e| panic!("require: {e}"));
    open(&url("127.0.0.1", "")).unwrap_or_else(|e| panic!("prefer, the default: {e}"));

    // A root file that is not there: said before any connection.
    let e = open(&url("localhost", "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")).err().expect("a missing root file");
    assert!(e.contains("/nonexistent/ca.pem") && !e.contains("s3cret-pw"), "{e}");

    // escucha check says what is checked.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("escucha.toml");
    std::fs::write(&config, "[daemon]\ndatabase_url_env = \"ESCUCHA_DB\"\n\n[[brand]]\nid = \"interjet\"\nterms = [\"interjet\"]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_escucha"))
        .args(["check", "--config"])
        .arg(&config)
        .env("ESCUCHA_DB", url("localhost", &format!("sslmode=verify-full&sslrootcert={}", ca.display())))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("database connection: TLS, certificate and host name checked (verify-full, roots from {})", ca.display())), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");

    // A mode libpq does not have is a config error naming it.
    let out = Command::new(env!("CARGO_BIN_EXE_escucha"))
        .args(["check", "--config"])
        .arg(&config)
        .env("ESCUCHA_DB", url("localhost", "sslmode=verify"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(text.contains("sslmode=verify: use disable, prefer, require, verify-ca or verify-full") && !text.contains("s3cret-pw"), "{text}");
}
