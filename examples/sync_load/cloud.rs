//! The cloud: a fresh Postgres database with the cloud schema (dropped at the
//! end), and a PostgREST-compatible server in front of it for the REST push.

use anyhow::Context;

fn with_db(url: &str, db: &str) -> anyhow::Result<String> {
    let mut u = url::Url::parse(url)?;
    u.set_path(&format!("/{db}"));
    Ok(u.to_string())
}

pub(crate) async fn fresh_cloud(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await?;
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let url = with_db(admin_url, name)?;
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/supabase/apply.sh"))
        .arg("--bootstrap")
        .arg(&url)
        .output()
        .context("run supabase/apply.sh")?;
    anyhow::ensure!(
        out.status.success(),
        "apply.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The new database and its schema are flushed now, not by Postgres's
    // checkpointer in the middle of a measurement (a shop's cloud is set up long
    // before its hub writes).
    client.batch_execute("CHECKPOINT").await?;
    Ok(url)
}

pub(crate) async fn drop_cloud(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    Ok(())
}

pub(crate) const REST_JWT_SECRET: &str = "sync-load-jwt-secret-0123456789abcdefghij";

/// A PostgREST-compatible server on the cloud database, as in the REST tests.
pub(crate) fn start_postrust(bin: &str, cloud: &str) -> anyhow::Result<(std::process::Child, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut uri = url::Url::parse(cloud)?;
    uri.set_username("authenticator")
        .map_err(|_| anyhow::anyhow!("db url"))?;
    let child = std::process::Command::new(bin)
        .env("PGRST_DB_URI", uri.as_str())
        .env("PGRST_DB_SCHEMAS", "public")
        .env("PGRST_DB_ANON_ROLE", "anon")
        .env("PGRST_SERVER_HOST", "127.0.0.1")
        .env("PGRST_SERVER_PORT", port.to_string())
        .env("PGRST_COMPAT_MODE", "true")
        .env("PGRST_LOG_LEVEL", "error")
        .env("PGRST_JWT_SECRET", REST_JWT_SECRET)
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("start {bin}"))?;
    Ok((child, port))
}
