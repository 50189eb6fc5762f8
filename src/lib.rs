//! CollisionOS Hub: the collision-repair shop's hub.
//!
//! Layout:
//! - [`domain`]: tables, columns, statuses, the role matrix; types, no I/O.
//! - [`store`]: SQLite (the source of truth): writer thread, reader pool, migrations.
//! - [`crdt`]: one Automerge document per record: apply, fork/merge at base, conflicts.
//! - [`auth`]: argon2 password hashing off the runtime, JWT issue/verify.
//! - [`sync`]: the cloud sync engine: configuration, transports, the worker.
//! - [`api`]: the HTTP API (axum); `api::error` maps errors to responses.
//! - [`ws`]: bay tablets over WebSocket: live changes, offline writes, devices.
//! - [`app`]: wires the parts; `App::serve` takes an injected listener and shutdown.
//! - [`config`], [`cli`]: one validated configuration, and the command line.

pub mod api;
pub mod app;
pub mod auth;
pub mod backups;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod crdt;
pub mod domain;
pub mod store;
pub mod sync;
pub mod tls;
pub mod ws;

/// The allocator of every binary built on this crate (the hub, its tools and
/// tests): mimalloc, with per-thread free lists, instead of glibc's malloc.
/// Its `override` feature (Cargo.toml) makes it the C `malloc` as well, so the
/// bundled SQLite allocates from it too (ARCHITECTURE.md says why).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
