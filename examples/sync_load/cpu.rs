//! CPU time from Linux `/proc`: this process's, its threads' run and wait
//! times, and the cloud's Postgres backends'.

/// CPU time (user + system) this process has used, in ms (Linux `/proc`).
pub(crate) fn process_cpu_ms() -> f64 {
    cpu_ms_of("self")
}

/// This process's threads named `name`: the time they ran and the time they
/// waited, runnable, for a core (ns), summed from `/proc/self/task/*/schedstat`.
pub(crate) fn threads_schedstat(name: &str) -> (u64, u64) {
    let mut out = (0, 0);
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
        let mut f = stat
            .split_whitespace()
            .map(|v| v.parse::<u64>().unwrap_or(0));
        out.0 += f.next().unwrap_or(0);
        out.1 += f.next().unwrap_or(0);
    }
    out
}

/// The CPU time (user and system, ms) process `pid` has used, from `/proc`.
fn cpu_ms_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) end with ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based), 11 and 12 after ')'; 100 Hz.
    (ticks(11) + ticks(12)) * 10.0
}

/// The CPU time (ms) used so far by the Postgres processes serving clients of
/// database `db` (the hub's connection, or the REST server's pool): the cloud's
/// own cost of a push. They run on this machine, so `/proc` has them.
pub(crate) async fn cloud_cpu_ms(admin: &str, db: &str) -> anyhow::Result<f64> {
    let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
            &[&db],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| cpu_ms_of(&r.get::<_, i32>(0).to_string()))
        .sum())
}
