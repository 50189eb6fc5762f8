//! The default run after the push rate: creates/s with sync off then on (phase
//! 3, one pair), then phase 2, acknowledgement to cloud, watched by a trigger
//! in the cloud that notifies each row as it commits.

use crate::cloud::drop_cloud;
use crate::creates::{creates_rate, write_load};
use crate::hub::synced_hub;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) async fn latency_and_throughput(
    admin: &str,
    seconds: u64,
    clients: usize,
    batch: usize,
) -> anyhow::Result<()> {
    // Creates/s, sync off then on, nothing else running (no watcher: the
    // latency phase below watches the cloud, which costs the machine CPU).
    let off = creates_rate(admin, seconds, clients, batch, false).await?;
    let on = creates_rate(admin, seconds, clients, batch, true).await?;
    println!(
        "creates/s over HTTP, {clients} clients: sync off {off:.0}, sync on {on:.0} ({:+.1}%)",
        (on / off - 1.0) * 100.0
    );

    // Acknowledgement to cloud: a trigger in the cloud notifies each row's id
    // as it commits; the watcher notes when each arrives.
    let name = format!("collisionos_sync_lag_{}", std::process::id());
    let (cloud, url, stop, _dir) = synced_hub(admin, &name, batch).await?;
    let (pg, mut conn) = tokio_postgres::connect(&cloud, tokio_postgres::NoTls).await?;
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let listener = {
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
            while let Some(Ok(m)) = futures_util::StreamExt::next(&mut messages).await {
                if let tokio_postgres::AsyncMessage::Notification(n) = m {
                    if let Ok(mut s) = seen.lock() {
                        s.entry(n.payload().to_string())
                            .or_insert_with(Instant::now);
                    }
                }
            }
        })
    };
    pg.batch_execute(
        "CREATE FUNCTION public.sync_load_seen() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN PERFORM pg_notify('sync_load', NEW.id::text); RETURN NEW; END $$;
         CREATE TRIGGER sync_load_seen AFTER INSERT ON public.repair_orders
           FOR EACH ROW EXECUTE FUNCTION public.sync_load_seen();
         LISTEN sync_load;",
    )
    .await?;
    let (acked, _) = write_load(&url, seconds, clients).await?;
    // Give the last ones time to arrive (bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = {
            let a = acked.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            let s = seen.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            a.iter().all(|(id, _)| s.contains_key(id))
        };
        if all || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut h = Histogram::<u64>::new(3)?;
    let (mut arrived, mut missing) = (0, 0);
    {
        let a = acked.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        let s = seen.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        for (id, at) in a.iter() {
            match s.get(id) {
                Some(v) => {
                    arrived += 1;
                    h.record(v.saturating_duration_since(*at).as_micros() as u64)?;
                }
                None => missing += 1,
            }
        }
    }
    println!(
        "acknowledgement to cloud, {clients} clients writing, sync on ({arrived} records, {missing} not seen in 30 s): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (notified by the cloud on commit)",
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
    let _ = stop.send(());
    drop(pg);
    listener.abort();
    drop_cloud(admin, &name).await
}
