//! The sync worker's own runtime: one thread (plus its blocking pool) at a
//! background CPU priority (Linux: `SCHED_IDLE`; elsewhere on Unix: nice 19),
//! so reading, encoding and pushing batches never takes a core from the writer
//! thread or the request handlers.
//!
//! Why: the writer thread is the hub's serial path (every write waits for its
//! group commit). Measured on the 2-core VM with 16 clients creating, the sync
//! worker on the shared runtime left the writer waiting for a core for ~10% of
//! the time, and creates/s fell ~20% with sync on. Nice 19 alone still let it
//! finish its time slice before a woken writer ran; a `SCHED_IDLE` thread gives
//! way at once. It still gets every idle cycle (the hub leaves plenty: the
//! writer, not the CPU, bounds the write rate), which kept acknowledgement to
//! cloud at p50 ~100 ms under 16 writing clients. Should the machine be busy
//! for long, the queue waits (durably); nothing is lost. The marks stay on the
//! writer thread (one writer), at its priority.

use std::time::Duration;

/// The niceness of the sync worker's threads (0 is normal, 19 the lowest).
pub const NICE: i32 = 19;

/// A runtime for the sync worker: one worker thread and a small blocking pool,
/// all at background priority. Dropping it shuts it down without waiting (a
/// plain `Runtime` may not be dropped inside async code, and the server's
/// future that owns this one can be dropped anywhere).
pub struct Background {
    /// Taken (and shut down) by `drop` only.
    rt: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl Background {
    /// Spawns `future` on the background runtime; the handle can be awaited
    /// or aborted from any runtime.
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The sync worker's runtime (see [`Background`]).
pub fn runtime() -> std::io::Result<Background> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(4)
        .thread_keep_alive(Duration::from_secs(60))
        .thread_name("sync-worker")
        .on_thread_start(lower_priority)
        .enable_all()
        .build()
        .map(|rt| Background {
            handle: rt.handle().clone(),
            rt: Some(rt),
        })
}

/// Lowers the calling thread's CPU priority: nice [`NICE`] (Linux keeps nice
/// per thread), and on Linux the `SCHED_IDLE` policy. Lowering needs no
/// privilege; a failure only costs the write path some speed: logged, not fatal.
fn lower_priority() {
    // The policy first: setting it sets the nice value too (to 0).
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadPriority, ThreadSchedulePolicy,
        };
        if let Err(e) = set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        ) {
            tracing::debug!(error = ?e, "could not make the sync worker SCHED_IDLE");
        }
    }
    #[cfg(unix)]
    if let Err(e) = rustix::process::setpriority_process(None, NICE) {
        tracing::debug!(error = %e, "could not lower the sync worker's priority");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn idle() -> thread_priority::ThreadSchedulePolicy {
        thread_priority::ThreadSchedulePolicy::Normal(
            thread_priority::NormalThreadSchedulePolicy::Idle,
        )
    }

    /// The calling thread's nice value and scheduling policy.
    fn priority() -> (i32, thread_priority::ThreadSchedulePolicy) {
        (
            rustix::process::getpriority_process(None).expect("nice"),
            thread_priority::thread_schedule_policy().expect("policy"),
        )
    }

    #[test]
    fn the_workers_threads_run_at_background_priority_and_others_do_not() {
        let before = rustix::process::getpriority_process(None).expect("nice");
        let rt = runtime().expect("runtime");
        let (worker, blocking) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("test runtime")
            .block_on(async {
                let worker = rt.spawn(async { priority() }).await.expect("task");
                let blocking = rt
                    .spawn(async { tokio::task::spawn_blocking(priority).await })
                    .await
                    .expect("task")
                    .expect("blocking task");
                // Dropped inside async code, as a server's future may be.
                drop(rt);
                (worker, blocking)
            });
        // (A process started nicer than NICE stays as nice: raising is refused.)
        assert_eq!(worker, (NICE.max(before), idle()));
        assert_eq!(blocking, (NICE.max(before), idle()));
        assert_ne!(priority().1, idle(), "the calling thread keeps its policy");
        // Only the runtime's threads: this (the calling) thread is untouched.
        assert_eq!(
            rustix::process::getpriority_process(None).expect("nice"),
            before
        );
    }
}
