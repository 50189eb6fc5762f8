//! The command line (clap derive). Every flag can also come from the environment.

use crate::config::{
    DEFAULT_BACKUP_INTERVAL_HOURS, DEFAULT_BACKUP_KEEP, DEFAULT_DATA_DIR, DEFAULT_LISTEN,
    DEFAULT_SHUTDOWN_TIMEOUT_SECS, DEFAULT_TOKEN_TTL_HOURS,
};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// CollisionOS Hub: runs a collision-repair shop's day (estimates, repair orders,
/// parts, time, invoices) from the shop's main PC. SQLite is the source of truth;
/// everything works without internet.
#[derive(Debug, Parser)]
#[command(name = "collisionos", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log lines as human-readable text or as one JSON object per line.
    #[arg(long, global = true, env = "COLLISIONOS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct DataDir {
    /// The folder holding the database, the token-signing secret and the hub's
    /// identity. Created on first start.
    #[arg(long, env = "COLLISIONOS_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub: the API and web UI on the shop's network.
    Serve {
        /// Address and port to listen on.
        #[arg(long, env = "COLLISIONOS_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        #[command(flatten)]
        data: DataDir,
        /// Hours a login token stays valid.
        #[arg(long, env = "COLLISIONOS_TOKEN_TTL_HOURS", default_value_t = DEFAULT_TOKEN_TTL_HOURS)]
        token_ttl_hours: u64,
        /// Seconds the hub gets to stop after SIGTERM or Ctrl-C: requests in
        /// flight finish, writes commit, the WAL is checkpointed; then it exits.
        #[arg(long, env = "COLLISIONOS_SHUTDOWN_TIMEOUT_SECS", default_value_t = DEFAULT_SHUTDOWN_TIMEOUT_SECS)]
        shutdown_timeout_secs: u64,
        /// Hours between automatic local backups (0: none).
        #[arg(long, env = "COLLISIONOS_BACKUP_INTERVAL_HOURS", default_value_t = DEFAULT_BACKUP_INTERVAL_HOURS)]
        backup_interval_hours: u64,
        /// How many automatic backups to keep (the oldest are removed).
        #[arg(long, env = "COLLISIONOS_BACKUP_KEEP", default_value_t = DEFAULT_BACKUP_KEEP)]
        backup_keep: usize,
        /// Folder for automatic backups [default: `backups` in the data dir].
        #[arg(long, env = "COLLISIONOS_BACKUP_DIR")]
        backup_dir: Option<PathBuf>,
        /// HTTPS for the tablets: the certificate chain (PEM). With --tls-key,
        /// --listen serves HTTPS and plain HTTP moves to --http-listen.
        #[arg(long, env = "COLLISIONOS_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, env = "COLLISIONOS_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// With TLS on: where plain HTTP stays available [default: 127.0.0.1
        /// and the port after --listen's, so only this PC reaches it]; `off`
        /// for none.
        #[arg(long, env = "COLLISIONOS_HTTP_LISTEN")]
        http_listen: Option<String>,
    },
    /// Create the shop and its owner account (once). The owner's password is read
    /// from COLLISIONOS_OWNER_PASSWORD, or else from standard input; never from an
    /// argument, where other users of the PC could see it.
    Init {
        #[command(flatten)]
        data: DataDir,
        /// The shop's name, as customers know it.
        #[arg(long, env = "COLLISIONOS_SHOP_NAME")]
        shop_name: String,
        /// The owner's e-mail; used to log in.
        #[arg(long, env = "COLLISIONOS_OWNER_EMAIL")]
        owner_email: String,
        /// The owner's name as shown in the app (defaults to the e-mail).
        #[arg(long, env = "COLLISIONOS_OWNER_NAME")]
        owner_name: Option<String>,
    },
    /// Write a consistent copy of the database to FILE while the hub runs. Reads
    /// the data dir only (never creates or changes it); the copy is checked with
    /// PRAGMA integrity_check before it is reported good.
    Backup {
        /// Where to write the copy (must not exist).
        file: PathBuf,
        #[command(flatten)]
        data: DataDir,
    },
    /// Replace the data dir's database with a backup FILE. Stop the hub first. The
    /// file is checked (integrity, schema version) before anything is replaced; the
    /// replaced database is kept aside in the data dir; the restored hub gets a new
    /// sync identity (Automerge actor id).
    Restore {
        /// The backup file to restore.
        file: PathBuf,
        #[command(flatten)]
        data: DataDir,
    },
    /// Cloud backup tools.
    Cloud {
        #[command(subcommand)]
        command: CloudCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Compare a live Postgres (the shop's Supabase project) with the schema and
    /// policies this hub expects; list every difference; exit 1 if there is any.
    Check {
        /// postgres:// URL of the database (Supabase: the direct connection string).
        #[arg(long, env = "SUPABASE_DB_URL")]
        db_url: String,
        /// A PEM file of the CA that signed the database's certificate
        /// (self-hosted Postgres); Supabase needs none.
        #[arg(long, env = "SUPABASE_DB_CA_FILE")]
        ca_file: Option<String>,
    },
}
