//! Writes the cloud mirror's first SQL files from the catalog and the role matrix.
//! Used once; shipped files are append-only and never regenerated (a later change
//! gets a new, later-timestamped file).
//!
//!     cargo run --example gen_cloud_sql -- /tmp/cloud-sql
use collisionos::cloud::ddl;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("usage: gen_cloud_sql OUTPUT_DIR"))?,
    );
    let migrations = dir.join("supabase/migrations");
    let rls = dir.join("rls");
    std::fs::create_dir_all(&migrations)?;
    std::fs::create_dir_all(&rls)?;
    let files = [
        (
            migrations.join("20261126000001_schema.sql"),
            ddl::schema_sql(),
        ),
        (
            migrations.join("20261126000002_changes.sql"),
            ddl::changes_sql(),
        ),
        (
            migrations.join("20261126000003_grants.sql"),
            ddl::grants_sql(),
        ),
        (
            rls.join("20261126000101_helpers.sql"),
            ddl::rls_helpers_sql(),
        ),
        (
            rls.join("20261126000103_policies.sql"),
            ddl::rls_policies_sql(),
        ),
        (rls.join("20261126000104_guards.sql"), ddl::rls_guards_sql()),
    ];
    for (path, sql) in files {
        std::fs::write(&path, sql)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
