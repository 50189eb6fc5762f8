//! `collisionos`: parse the command line, start logging, run the command.

use clap::Parser;
use collisionos::app::{init_shop, App, NewShop};
use collisionos::cli::{Cli, CloudCommand, Command, LogFormat};
use collisionos::config::Config;
use collisionos::store::Store;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    // A `.env` in the working directory sets what the environment does not
    // (the `cp install/collisionos.env.example .env` habit).
    let dotenv = dotenvy::dotenv();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    match dotenv {
        Ok(path) => tracing::info!(file = %path.display(), "read settings from .env"),
        Err(e) if e.not_found() => {}
        Err(e) => tracing::warn!(error = %e, "could not read .env"),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            listen,
            data,
            token_ttl_hours,
            shutdown_timeout_secs,
            backup_interval_hours,
            backup_keep,
            backup_dir,
            tls_cert,
            tls_key,
            http_listen,
        } => {
            let mut config = Config::new(listen, data.data_dir);
            config.token_ttl = Duration::from_secs(token_ttl_hours.max(1) * 3600);
            config.shutdown_timeout = Duration::from_secs(shutdown_timeout_secs);
            config.backup_every = (backup_interval_hours > 0)
                .then(|| Duration::from_secs(backup_interval_hours * 3600));
            config.backup_keep = backup_keep.max(1);
            config.backup_dir = backup_dir;
            config.sync = collisionos::sync::config::EnvConfig::from_process_env()?;
            let tls = match (&tls_cert, &tls_key) {
                (Some(cert), Some(key)) => Some(collisionos::tls::server_config(cert, key)?),
                _ => None,
            };
            let app = App::build(&config).await?;
            let listener = tokio::net::TcpListener::bind(config.listen).await?;
            let initialized = app.store().is_set_up().await?;
            let addr = listener.local_addr()?;
            let plain = match (&tls, http_listen.as_deref()) {
                (None, _) | (Some(_), Some("off")) => None,
                (Some(_), Some(a)) => Some(tokio::net::TcpListener::bind(a).await?),
                (Some(_), None) => Some(
                    tokio::net::TcpListener::bind((
                        std::net::Ipv4Addr::LOCALHOST,
                        addr.port().wrapping_add(1).max(1),
                    ))
                    .await?,
                ),
            };
            // One plain line on stdout for people and scripts: where the hub is.
            let scheme = if tls.is_some() { "https" } else { "http" };
            println!("collisionos listening on {scheme}://{addr}");
            if let Some(p) = &plain {
                println!("collisionos also listening on http://{}", p.local_addr()?);
            }
            tracing::info!(
                %addr,
                data_dir = %config.data_dir.display(),
                "collisionos hub listening"
            );
            if !initialized {
                if let Some(code) = app.state.setup.peek() {
                    // On the console only: whoever reads it may set the hub up.
                    eprintln!(
                        "\n  No shop yet. Open {scheme}://<this PC>:{} in a browser and enter the\n  one-time setup code {code}\n  (or run `collisionos init --shop-name ... --owner-email ...`).\n",
                        addr.port()
                    );
                }
            }
            match tls {
                Some(config) => {
                    let tls = collisionos::tls::TlsListener::new(listener, config)?;
                    app.serve_tls(tls, plain, shutdown_signal()).await?
                }
                None => app.serve(listener, shutdown_signal()).await?,
            }
            tracing::info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Init {
            data,
            shop_name,
            owner_email,
            owner_name,
        } => {
            let password = match std::env::var("COLLISIONOS_OWNER_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("owner password (from standard input):");
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let dir = data.data_dir.clone();
            let store = tokio::task::spawn_blocking(move || -> anyhow::Result<Store> {
                let store = Store::open(&dir)?;
                // The data dir is complete from the start: the signing secret too.
                collisionos::auth::JwtSecret::load_or_create(&dir)?;
                Ok(store)
            })
            .await??;
            let name = owner_name.unwrap_or_else(|| owner_email.clone());
            let (shop, owner) = init_shop(
                &store,
                NewShop {
                    shop_name: &shop_name,
                    owner_email: &owner_email,
                    owner_name: &name,
                    password,
                },
            )
            .await?;
            println!("created shop {shop} and its owner {owner_email} ({owner})");
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file, data } => {
            let dest = file.clone();
            let report = tokio::task::spawn_blocking(move || {
                collisionos::store::backup::backup(&data.data_dir, &dest)
            })
            .await??;
            println!(
                "wrote a consistent copy to {} ({} bytes, schema version {}, integrity ok)",
                file.display(),
                report.bytes,
                report.schema_version
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file, data } => {
            let from = file.clone();
            let dir = data.data_dir.clone();
            let (report, aside) = tokio::task::spawn_blocking(move || {
                collisionos::store::backup::restore(&dir, &from)
            })
            .await??;
            println!(
                "restored {} into {} (schema version {}); the hub's new actor id is {}",
                file.display(),
                data.data_dir.display(),
                report.schema_version,
                report.hub_actor
            );
            if let Some(aside) = aside {
                println!("the replaced database is kept at {}", aside.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cloud {
            command: CloudCommand::Check { db_url, ca_file },
        } => {
            let report = collisionos::cloud::check::check(&db_url, ca_file.as_deref()).await?;
            println!("{report}");
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
