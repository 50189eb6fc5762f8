#!/usr/bin/env bash
# A throwaway Postgres cluster for the tests, from the machine's Postgres binaries.
#
#   bash install/pg-test-cluster.sh start DIR   # prints: export COLLISIONOS_TEST_PG_URL=...
#   bash install/pg-test-cluster.sh stop DIR
#   bash install/pg-test-cluster.sh url DIR     # prints the export line of a running cluster
#
# Typical use:  eval "$(bash install/pg-test-cluster.sh start /tmp/pgtest)"; cargo test --test it
#
# start: finds Postgres 15's binaries (/usr/lib/postgresql/15/bin, else
# `pg_config --bindir`), installing the `postgresql` package with apt-get when
# they are missing; runs initdb as the `postgres` user (initdb refuses root) with
# DIR owned by that user; starts the server on 127.0.0.1 only, on a free port,
# with its unix socket in DIR and fsync off (test data only); waits until it
# accepts connections. Starting an already running cluster just prints its URL.
# Only the export line goes to stdout; everything else goes to stderr. Any
# failure exits non-zero with the reason (and the server log, if it got that far).
set -euo pipefail

die() { echo "pg-test-cluster: $*" >&2; exit 1; }
say() { echo "pg-test-cluster: $*" >&2; }

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|stop|url DIR"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
data="$dir/data"
log="$dir/server.log"
portfile="$dir/port"

find_bindir() {
  local d
  for d in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null || true)"; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null; then
      runuser -u postgres -- "$@"
    else
      su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

export_line() { echo "export COLLISIONOS_TEST_PG_URL=postgres://postgres@127.0.0.1:$1/postgres"; }

is_running() { [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

bindir="$(find_bindir || true)"
if [ -z "$bindir" ] && [ "$cmd" = start ]; then
  say "no Postgres server binaries found; installing the postgresql package"
  [ "$(id -u)" = 0 ] || die "not root: install Postgres 15 yourself (apt-get install postgresql)"
  command -v apt-get >/dev/null || die "apt-get not found: install Postgres 15 yourself"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 || die "apt-get install postgresql failed"
  bindir="$(find_bindir || true)"
fi
[ -n "$bindir" ] || die "no Postgres server binaries (initdb, pg_ctl, postgres) found"

case "$cmd" in
  start)
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || die "there is no 'postgres' user to run initdb as (install the postgresql package)"
      chown postgres: "$dir"
      as_owner test -w "$dir" || die "$dir is not writable by the postgres user (is a parent directory closed to it?)"
    fi
    if is_running; then
      [ -f "$portfile" ] || die "a cluster runs in $data but $portfile is missing"
      say "already running ($("$bindir/postgres" --version))"
      export_line "$(cat "$portfile")"
      exit 0
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      say "initdb $data ($("$bindir/postgres" --version))"
      as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    started=""
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
      port_free "$port" || continue
      if as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
          -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
          start >&2; then
        started="$port"
        break
      fi
      say "start on port $port failed; trying another port"
      tail -n 20 "$log" >&2 || true
    done
    [ -n "$started" ] || { tail -n 50 "$log" >&2 || true; die "could not start Postgres (log: $log)"; }
    for _ in $(seq 1 60); do
      "$bindir/pg_isready" -q -h 127.0.0.1 -p "$started" -U postgres && break
      sleep 0.5
    done
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$started" -U postgres \
      || { tail -n 50 "$log" >&2 || true; die "Postgres did not become ready on 127.0.0.1:$started"; }
    echo "$started" > "$portfile"
    say "ready on 127.0.0.1:$started (data $data, log $log)"
    export_line "$started"
    ;;
  stop)
    if is_running; then
      as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >&2 || die "pg_ctl stop failed"
      say "stopped"
    else
      say "not running in $data"
    fi
    rm -f "$portfile"
    ;;
  url)
    is_running || die "no cluster runs in $data"
    export_line "$(cat "$portfile")"
    ;;
  *) die "unknown command $cmd (start, stop or url)" ;;
esac
