//! TLS on the Postgres wire (rustls): a TLS front for the test Postgres that
//! speaks Postgres's SSLRequest and refuses plain connections, with a
//! certificate from a CA the test makes (openssl). The hub syncs through it
//! when given the CA file, and refuses to enable when it cannot verify the
//! certificate.

use crate::common::TestHub;
use crate::pg::fresh_db;
use crate::sync_support::{cloud_row, drain, host_port};
use reqwest::{Method, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for `localhost` signed by it: (ca.pem, leaf, key).
pub(crate) fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=CollisionOS test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
        ],
    );
}

const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Accepts only TLS (after Postgres's SSLRequest) and forwards to `target`.
async fn tls_front(dir: &Path, target: String) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("leaf.pem"))
        .expect("leaf.pem")
        .collect::<Result<_, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).expect("leaf.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let plain_refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let refused = plain_refused.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, target, refused) = (acceptor.clone(), target.clone(), refused.clone());
            tokio::spawn(async move {
                let mut first = [0u8; 8];
                if client.read_exact(&mut first).await.is_err() {
                    return;
                }
                if first != SSL_REQUEST {
                    refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return; // plain Postgres: refused
                }
                if client.write_all(b"S").await.is_err() {
                    return;
                }
                let Ok(tls) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(mut server) = TcpStream::connect(&target).await else {
                    return;
                };
                let mut tls = tls;
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
            });
        }
    });
    (port, plain_refused)
}

#[tokio::test]
async fn the_hub_syncs_over_tls_with_a_given_ca_and_refuses_an_unverified_certificate() {
    let db = fresh_db("sync_tls").await;
    let dir = tempfile::tempdir().expect("tempdir");
    certificates(dir.path());
    let (port, plain_refused) = tls_front(dir.path(), host_port(&db.url)).await;
    let name = db.name.clone();
    let url = format!("postgres://postgres@localhost:{port}/{name}?sslmode=require");
    let hub = TestHub::spawn().await;

    // Without the CA: the certificate cannot be verified; sync stays off.
    crate::sync_support::set_db_url(&hub, &url).await;
    let (s, b) = hub
        .post("/api/sync/enable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let why = b["error"]["check"]["steps"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(why.to_lowercase().contains("certificate"), "{b}");

    // With the CA file: it verifies, enables and pushes.
    let ca = dir.path().join("ca.pem");
    let (s, b) = hub
        .request(
            Method::PUT,
            "/api/sync/config",
            Some(hub.owner_token()),
            Some(&json!({ "dbCaFile": ca.to_string_lossy() })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = hub
        .post("/api/sync/enable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let c = hub
        .create(
            "customers",
            hub.owner_token(),
            &json!({ "last_name": "Encrypted" }),
        )
        .await;
    let out = drain(&hub).await;
    assert!(out.unreachable.is_none() && out.failed == 0, "{out:?}");
    assert!(cloud_row(&db, "customers", c["id"].as_str().expect("id"))
        .await
        .is_some());
    assert_eq!(
        plain_refused.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the hub never tried plain text"
    );
    // `collisionos cloud check` connects by the same rules: through the front
    // with the CA file it checks the schema; without it, it refuses the
    // certificate instead of checking over plain text.
    let check = |ca: Option<&Path>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_collisionos"));
        cmd.args(["cloud", "check", "--db-url", &url]);
        if let Some(ca) = ca {
            cmd.arg("--ca-file").arg(ca);
        }
        cmd.env_remove("SUPABASE_DB_CA_FILE").output()
    };
    let out = check(Some(&ca)).await.expect("run cloud check");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("cloud schema OK"), "{printed}");
    let out = check(None).await.expect("run cloud check");
    let said = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(!out.status.success());
    assert!(said.contains("certificate"), "{said}");
    // The front really refuses plain connections.
    let plain = format!("postgres://postgres@127.0.0.1:{port}/{name}");
    assert!(tokio_postgres::connect(&plain, tokio_postgres::NoTls)
        .await
        .is_err());
    assert!(plain_refused.load(std::sync::atomic::Ordering::SeqCst) >= 1);

    // A bad CA file path is refused, naming the field, and changes nothing.
    let (s, b) = hub
        .request(
            Method::PUT,
            "/api/sync/config",
            Some(hub.owner_token()),
            Some(&json!({ "dbCaFile": "/nonexistent/ca.pem" })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["error"]["field"], "dbCaFile", "{b}");
    db.drop_db().await;
}
