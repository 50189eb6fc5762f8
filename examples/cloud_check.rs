//! What `collisionos cloud check --db-url URL` does, until the CLI wires it:
//! prints the report and exits 1 when the cloud does not match the catalog.
//!
//!     cargo run --example cloud_check -- postgres://...
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: cloud_check DATABASE_URL"))?;
    let report = collisionos::cloud::check::check(&url).await?;
    print!("{report}");
    if !report.is_ok() {
        std::process::exit(1);
    }
    Ok(())
}
