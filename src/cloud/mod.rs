//! The cloud mirror: what the shop's Supabase (Postgres) must contain, and the
//! checking of a live database against it.
//!
//! The SQL itself lives in `supabase/migrations/` and `rls/` (append-only files,
//! applied by `supabase/apply.sh`). This module is the catalog's view of them:
//!
//! - [`expected`]: the tables, columns, status lists, policies and guard triggers
//!   the cloud must have, derived from the catalog and the role matrix.
//! - [`ddl`]: the generator that wrote the first SQL files from [`expected`]
//!   (`cargo run --example gen_cloud_sql`); shipped files are never regenerated.
//! - [`introspect`]: reads a live Postgres schema (tables, columns, CHECK lists,
//!   RLS flags, policies, triggers, grants) from `pg_catalog`.
//! - [`check`]: compares the two (`collisionos cloud check --db-url ...`).

pub mod check;
pub mod ddl;
pub mod expected;
pub mod introspect;
