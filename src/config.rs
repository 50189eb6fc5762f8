//! One validated configuration. The defaults are embedded here, so `collisionos
//! serve` with no flags, no file and no environment runs a working hub.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_TOKEN_TTL_HOURS: u64 = 12;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// How long a login token is valid.
    pub token_ttl: Duration,
    /// Cloud sync settings and credentials from the environment (`main` reads
    /// them; the default is sync off with nothing configured).
    pub sync: crate::sync::config::EnvConfig,
}

impl Config {
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Config {
        Config {
            listen,
            data_dir,
            token_ttl: Duration::from_secs(DEFAULT_TOKEN_TTL_HOURS * 3600),
            sync: Default::default(),
        }
    }
}
