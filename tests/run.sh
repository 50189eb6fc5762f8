#!/usr/bin/env bash
# Runs every test of CollisionOS Hub, starting what the tests need first:
#   - a throwaway PostgreSQL 15 cluster (from the machine's packages; installed with
#     apt-get if missing) for the cloud-schema, RLS and sync tests;
#   - systemd's `systemd-analyze` (installed with apt-get if missing) for the
#     install test;
#   - pgbouncer and openssl for the sync tests (installed with apt-get if missing);
#   - Debian's chromium and chromium-driver for the browser tests (tests/it/browser;
#     installed with apt-get if missing; screenshots land in target/screenshots/);
#   - postrust-server for the REST transport's tests (cargo install, cached).
# Fails loudly when a part cannot be had: no test skips because a part is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || {
    echo "tests/run.sh: cargo is not installed; install Rust from rustup first" >&2
    exit 1
}

# Installs a Debian package when the command it brings is missing; fails loudly
# when it cannot (no test skips because a part is missing).
need() {
    local cmd="$1" pkg="$2"
    command -v "$cmd" >/dev/null || [ -x "/usr/sbin/$cmd" ] && return 0
    echo "tests/run.sh: $cmd is missing; installing the $pkg package" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
    fi
    command -v "$cmd" >/dev/null || [ -x "/usr/sbin/$cmd" ] || { echo "tests/run.sh: could not install $pkg for $cmd" >&2; exit 1; }
}
need systemd-analyze systemd   # the install test checks the unit with it
# The sync tests also need Debian's pgbouncer (the transaction-mode pooler test)
# and openssl (the TLS test makes its certificates with it).
need pgbouncer pgbouncer
need openssl openssl
# The browser tests drive headless Chromium through chromedriver (WebDriver).
need chromium chromium
need chromedriver chromium-driver
export COLLISIONOS_CHROMEDRIVER="${COLLISIONOS_CHROMEDRIVER:-$(command -v chromedriver)}"

# The REST transport's tests run against postrust-server (a PostgREST-compatible
# server from crates.io). It takes minutes to build, so it is installed once into
# a cache folder and reused; `cargo install --locked` fails for it, so unlocked.
cache="${COLLISIONOS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/collisionos}"
postrust="$cache/postrust/bin/postrust"
if [ ! -x "$postrust" ]; then
    echo "tests/run.sh: installing postrust-server into $cache/postrust (once; several minutes)" >&2
    cargo install postrust-server --version 3.1.0 --root "$cache/postrust" >&2
fi
export COLLISIONOS_POSTRUST="$postrust"

pgdir=$(mktemp -d /tmp/collisionos-pg.XXXXXX)
cleanup() { bash install/pg-test-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
trap cleanup EXIT
eval "$(bash install/pg-test-cluster.sh start "$pgdir")"
: "${COLLISIONOS_TEST_PG_URL:?install/pg-test-cluster.sh did not give a database URL}"
export COLLISIONOS_TEST_PG_URL

# Unit tests, the integration suite (tests/it), the doc tests; benchmarks and the
# load tool are compiled (so they cannot rot) but not run: speed lives there.
cargo test --locked --lib --bins --tests
cargo build --locked --benches --examples
