#!/usr/bin/env bash
# Applies the CollisionOS cloud schema to a Postgres database, in order:
#   1. supabase/bootstrap/plain_postgres.sql   (only with --bootstrap: plain Postgres,
#                                               never a Supabase project)
#   2. supabase/migrations/*.sql               (filename order)
#   3. rls/*.sql                               (filename order)
#
# Usage: supabase/apply.sh [--bootstrap] DATABASE_URL
#
# Every file is one transaction of its own (its first statement BEGIN;, its last
# COMMIT;), so it lands whole or not at all however it is applied (this script,
# psql -f, the SQL editor); the script refuses a file not written that way. It
# runs with ON_ERROR_STOP; the first error stops everything and exits non-zero.
# Migrations and policy files are append-only, so each is applied once: the
# script records what it applied (name + SHA-256) in collisionos_meta.applied_files,
# in the file's own transaction, skips those next time, and refuses to go on if
# an applied file has since been edited. Needs psql (postgresql-client) and sha256sum.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

bootstrap=0
url=""
for arg in "$@"; do
  case "$arg" in
    --bootstrap) bootstrap=1 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "apply.sh: unknown option $arg" >&2; exit 2 ;;
    *) [ -z "$url" ] || { echo "apply.sh: more than one database URL given" >&2; exit 2; }
       url="$arg" ;;
  esac
done
[ -n "$url" ] || { echo "usage: supabase/apply.sh [--bootstrap] DATABASE_URL" >&2; exit 2; }
command -v psql >/dev/null || { echo "apply.sh: psql not found (apt-get install postgresql-client)" >&2; exit 1; }

psql_run() {
  PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
    psql "$url" --no-psqlrc --quiet -v ON_ERROR_STOP=1 "$@"
}

if [ "$bootstrap" = 1 ]; then
  echo "apply.sh: bootstrap supabase/bootstrap/plain_postgres.sql" >&2
  psql_run --single-transaction -f "$here/bootstrap/plain_postgres.sql"
fi

psql_run <<'SQL'
CREATE SCHEMA IF NOT EXISTS collisionos_meta;
REVOKE ALL ON SCHEMA collisionos_meta FROM PUBLIC;
CREATE TABLE IF NOT EXISTS collisionos_meta.applied_files (
  name text PRIMARY KEY,
  sha256 text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
SQL

shopt -s nullglob
files=("$here"/migrations/*.sql)
rls_files=("$root"/rls/*.sql)
[ ${#files[@]} -gt 0 ] || { echo "apply.sh: no migrations in $here/migrations" >&2; exit 1; }
applied=0
skipped=0
for f in "${files[@]}" "${rls_files[@]}"; do
  rel="${f#"$root"/}"
  sum="$(sha256sum "$f" | cut -d' ' -f1)"
  known="$(psql_run -At -v name="$rel" <<'SQL'
SELECT sha256 FROM collisionos_meta.applied_files WHERE name = :'name';
SQL
)"
  if [ -n "$known" ]; then
    if [ "$known" != "$sum" ]; then
      echo "apply.sh: $rel was changed after it was applied (files are append-only: add a new one)" >&2
      exit 1
    fi
    skipped=$((skipped + 1))
    continue
  fi
  # One transaction per file: BEGIN; first, COMMIT; last (comments aside).
  statements="$(grep -v -e '^[[:space:]]*--' -e '^[[:space:]]*$' "$f")"
  if [ "$(head -n 1 <<<"$statements")" != "BEGIN;" ] || [ "$(tail -n 1 <<<"$statements")" != "COMMIT;" ]; then
    echo "apply.sh: $rel is not one transaction (its first statement must be BEGIN; and its last COMMIT;)" >&2
    exit 1
  fi
  echo "apply.sh: applying $rel" >&2
  # The file and its record commit together, or neither does: the record goes in
  # before the file's own COMMIT (on an error psql stops and the open
  # transaction is rolled back).
  last_commit="$(grep -n '^COMMIT;[[:space:]]*$' "$f" | tail -n 1 | cut -d: -f1)"
  { head -n "$((last_commit - 1))" "$f"
    printf '\nINSERT INTO collisionos_meta.applied_files (name, sha256) VALUES (%s, %s);\nCOMMIT;\n' \
      "'$rel'" "'$sum'"; } | psql_run -f -
  applied=$((applied + 1))
done
echo "apply.sh: done ($applied applied, $skipped already there)" >&2
