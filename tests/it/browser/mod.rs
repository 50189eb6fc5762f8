//! The web UI in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `tests/run.sh` installs), driven through WebDriver
//! with `fantoccini`, against the real `collisionos` binary. The browser only
//! talks to a recording proxy owned by the test ([`proxy`]), so every scenario
//! also checks that no secret ever reached the browser. Screenshots go to
//! `target/screenshots/`. Performance figures are printed with the prefix
//! `BROWSER-PERF`.
//!
//! - [`harness`]: chromedriver, sessions, waits, screenshots, the label check.
//! - [`hub`]: the real binary (first run, setup code from the console, restart).
//! - [`proxy`]: the recording proxy and the secrets search.
//! - one file per scenario.

mod harness;
mod hub;
mod proxy;

mod board_live;
mod cloud_sync;
mod conflicts_page;
mod devices;
mod keyboard;
mod lists_and_filters;
mod many_records;
mod perf;
mod screenshots;
mod shop_details;
mod sync_timing;
mod tablet;
mod technician;
