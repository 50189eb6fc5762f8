//! One validated configuration. The defaults are embedded here, so `collisionos
//! serve` with no flags, no file and no environment runs a working hub.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_TOKEN_TTL_HOURS: u64 = 12;
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_BACKUP_INTERVAL_HOURS: u64 = 24;
pub const DEFAULT_BACKUP_KEEP: usize = 7;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// How long a login token is valid.
    pub token_ttl: Duration,
    /// After SIGTERM or Ctrl-C: how long requests in flight get to finish, and
    /// then the writer to commit and checkpoint, before the hub exits anyway.
    pub shutdown_timeout: Duration,
    /// Automatic local backups: the folder (default: `backups` in the data
    /// dir), how often (`None`: off) and how many to keep.
    pub backup_dir: Option<PathBuf>,
    pub backup_every: Option<Duration>,
    pub backup_keep: usize,
    /// Cloud sync settings and credentials from the environment (`main` reads
    /// them; the default is sync off with nothing configured).
    pub sync: crate::sync::config::EnvConfig,
}

impl Config {
    /// The automatic backups this configuration asks for.
    pub fn backup_plan(&self) -> crate::backups::BackupPlan {
        crate::backups::BackupPlan {
            data_dir: self.data_dir.clone(),
            dir: self
                .backup_dir
                .clone()
                .unwrap_or_else(|| self.data_dir.join("backups")),
            every: self.backup_every,
            keep: self.backup_keep,
        }
    }

    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Config {
        Config {
            listen,
            data_dir,
            token_ttl: Duration::from_secs(DEFAULT_TOKEN_TTL_HOURS * 3600),
            shutdown_timeout: Duration::from_secs(DEFAULT_SHUTDOWN_TIMEOUT_SECS),
            backup_dir: None,
            backup_every: Some(Duration::from_secs(DEFAULT_BACKUP_INTERVAL_HOURS * 3600)),
            backup_keep: DEFAULT_BACKUP_KEEP,
            sync: Default::default(),
        }
    }
}
