//! `--storage`: bytes per repair order on the hub and in the cloud after
//! creates and 10 updates each, all pushed.

use crate::cloud::{drop_cloud, fresh_cloud};
use crate::hub::{create_ros, hub, owner_of};
use collisionos::domain::value::{parse_object, Mode};
use collisionos::domain::TableId;
use collisionos::store::{WriteOp, WriteRequest};
use serde_json::json;
use std::time::Instant;

/// Bytes per repair order on the hub and in the cloud, for `ros` repair orders
/// created and then updated 10 times each (notes), all pushed.
pub(crate) async fn storage(admin: &str, ros: usize) -> anyhow::Result<()> {
    let name = format!("collisionos_sync_storage_{}", std::process::id());
    let cloud = fresh_cloud(admin, &name).await?;
    let dir = tempfile::tempdir()?;
    let (app, shop, owner) = hub(dir.path(), Some(&cloud), 500).await?;
    let ro = TableId::REPAIR_ORDERS;
    let who = owner_of(shop, owner);
    let start = Instant::now();
    let ids = create_ros(&app, &who, ros, "storage").await?;
    eprintln!("{ros} repair orders created in {:.0?}", start.elapsed());
    for round in 0..10 {
        for chunk in ids.chunks(1000) {
            let writes = chunk.iter().map(|id| {
                let f = parse_object(
                    ro.def(),
                    &json!({ "notes": format!("update {round}: customer called about the estimate") }),
                    Mode::Update,
                )
                .map(|(_, f)| f)
                .map_err(|e| anyhow::anyhow!("{e}"));
                let (store, who, id) = (app.store().clone(), who.clone(), id.clone());
                async move {
                    store
                        .write(WriteRequest {
                            who,
                            table: ro,
                            op: WriteOp::Update {
                                id,
                                fields: f?,
                                base: None,
                            },
                            skip_sync: false,
                            password_hash: None,
                        })
                        .await
                        .map_err(anyhow::Error::from)
                }
            });
            for r in futures_util::future::join_all(writes).await {
                r?;
            }
        }
        eprintln!(
            "update round {} of 10 done at {:.0?}",
            round + 1,
            start.elapsed()
        );
    }
    let mut pushed = 0;
    loop {
        let o = app.state.sync.run_batches(64).await?;
        anyhow::ensure!(o.unreachable.is_none() && o.failed == 0, "push: {o:?}");
        pushed += o.pushed;
        if !o.more && o.pushed == 0 {
            break;
        }
    }
    eprintln!("{pushed} records pushed at {:.0?}", start.elapsed());
    // The hub's database with its WAL folded in (what a backup copies).
    let db_path = app.store().path().to_path_buf();
    drop(app);
    let c = rusqlite::Connection::open(&db_path)?;
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let hub_bytes: i64 = c.query_row(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        [],
        |r| r.get(0),
    )?;
    drop(c);
    let (pg, conn) = tokio_postgres::connect(&cloud, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    pg.batch_execute("VACUUM ANALYZE").await?;
    let row = pg
        .query_one(
            "SELECT pg_total_relation_size('public.repair_orders'),
                    pg_total_relation_size('public.crdt_changes'),
                    (SELECT count(*) FROM public.crdt_changes),
                    pg_database_size(current_database())",
            &[],
        )
        .await?;
    let (rows, changes, n_changes, db): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let per = |b: i64| b as f64 / ros as f64;
    println!(
        "storage, {ros} repair orders x 10 updates: hub {:.0} B/RO (database file); cloud rows {:.0} B/RO, change table {:.0} B/RO ({n_changes} changes), rows + changes {:.0} B/RO, whole cloud database {:.1} MB",
        per(hub_bytes),
        per(rows),
        per(changes),
        per(rows + changes),
        db as f64 / 1e6
    );
    drop(pg);
    drop_cloud(admin, &name).await
}
