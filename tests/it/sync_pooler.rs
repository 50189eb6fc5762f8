//! Through Debian's pgbouncer in `pool_mode = transaction` (one server
//! connection shared by everyone): two hubs of two shops sync at once and the
//! end-to-end test passes for both. Session state cannot leak between them:
//! the role and claims are `SET LOCAL` / `set_config(…, true)`, and no named
//! prepared statement outlives its transaction.

use crate::common::TestHub;
use crate::pg::fresh_db;
use crate::sync_e2e::writes_arrive_and_updates_and_deletes_follow;
use crate::sync_support::{host_port, pg_config};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const PGBOUNCER: &str = "/usr/sbin/pgbouncer";

struct Pgbouncer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Pgbouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Starts pgbouncer in transaction mode in front of `target` (host:port).
async fn pgbouncer(target: &str) -> Pgbouncer {
    assert!(
        PathBuf::from(PGBOUNCER).exists(),
        "pgbouncer is not installed: apt-get install pgbouncer (Debian's package)"
    );
    let (host, pg_port) = target.rsplit_once(':').expect("host:port");
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod");
    let port = free_port();
    let ini = dir.path().join("pgbouncer.ini");
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "\"postgres\" \"\"\n").expect("users");
    std::fs::write(
        &ini,
        format!(
            "[databases]\n* = host={host} port={pg_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {}\npool_mode = transaction\n\
             default_pool_size = 1\nmax_client_conn = 50\n\
             ignore_startup_parameters = extra_float_digits\n\
             logfile = {}\n",
            users.display(),
            dir.path().join("pgbouncer.log").display()
        ),
    )
    .expect("ini");
    let child = Command::new(PGBOUNCER)
        .arg("-u")
        .arg("postgres")
        .arg(&ini)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pgbouncer");
    let bouncer = Pgbouncer {
        child,
        port,
        _dir: dir,
    };
    // Ready when it accepts connections (bounded).
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return bouncer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("pgbouncer did not start listening on {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_sync_at_once_through_pgbouncer_in_transaction_mode() {
    let db = fresh_db("sync_pooler").await;
    let bouncer = pgbouncer(&host_port(&db.url)).await;
    let url = crate::sync_support::with_port(&db.url, bouncer.port);
    let a = TestHub::spawn().await;
    let b = TestHub::spawn().await;
    assert_ne!(a.shop_id, b.shop_id);
    let config = pg_config(&url);
    tokio::join!(
        writes_arrive_and_updates_and_deletes_follow(&a, &db, &config),
        writes_arrive_and_updates_and_deletes_follow(&b, &db, &config),
    );
    for hub in [&a, &b] {
        assert_eq!(
            crate::sync_support::cloud_count(
                &db,
                &format!(
                    "SELECT count(*) FROM public.shops WHERE id = '{}'",
                    hub.shop_id
                )
            )
            .await,
            1
        );
    }
    drop(bouncer);
    db.drop_db().await;
}
