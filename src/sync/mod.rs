//! Cloud sync: the durable queue (the change log past its cursor, and the
//! `sync_queue` items) drained to the shop's Supabase (or any
//! Postgres with the `supabase/` and `rls/` files applied), as the shop's hub,
//! so the cloud's Row Level Security confines it to its shop.
//!
//! - [`config`]: defaults, environment, per-shop settings, credentials, validation.
//! - [`cost`]: the monthly cost estimate per feature.
//! - [`sink`]: the [`sink::CloudSink`] trait every transport implements.
//! - [`pg`]: transport 1, the Postgres wire; [`tls`]: its rustls connector.
//! - [`rest`]: transport 2, Supabase REST (PostgREST).
//! - [`restored`]: noticing a cloud restored in place from an older backup.
//! - [`background`]: the worker's own runtime, at a background CPU priority.
//! - [`worker`]: the step function ([`worker::Engine::run_once`]), the pipelined
//!   run ([`worker::Engine::run_batches`]) and its loop; `push`: what one push is
//!   (compressed change bytes, refused records split off, the backoff).

pub mod background;
pub mod config;
pub mod control;
pub mod cost;
mod live;
pub mod pg;
mod push;
pub mod rest;
pub mod restored;
pub mod sink;
pub mod tls;
pub mod worker;
