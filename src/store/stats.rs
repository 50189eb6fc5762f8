//! What the writer counts as it commits, for `/metrics`: how many writes it
//! answered and how, and how large its groups are (writes sharing one fsync).

use prometheus::core::Collector;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

/// The writer's counters; cheap to clone (they share their values).
#[derive(Clone)]
pub struct WriterStats {
    /// Jobs per committed group.
    pub group_jobs: Histogram,
    /// Writes answered, by outcome: `ok`, `refused` (the caller's fault: a
    /// bad reference, a conflict, a forbidden change) or `failed`.
    pub writes: IntCounterVec,
}

impl WriterStats {
    pub fn new() -> WriterStats {
        let group_jobs = Histogram::with_opts(
            HistogramOpts::new(
                "collisionos_commit_group_writes",
                "Writes committed together under one fsync",
            )
            .buckets(vec![
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
            ]),
        )
        .expect("a fixed metric definition is valid");
        let writes = IntCounterVec::new(
            Opts::new(
                "collisionos_writes_total",
                "Writes answered by the writer, by outcome",
            ),
            &["outcome"],
        )
        .expect("a fixed metric definition is valid");
        WriterStats { group_jobs, writes }
    }

    /// The collectors to register with a `prometheus::Registry`.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.group_jobs.clone()),
            Box::new(self.writes.clone()),
        ]
    }
}

impl Default for WriterStats {
    fn default() -> Self {
        WriterStats::new()
    }
}
