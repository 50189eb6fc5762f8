#!/usr/bin/env bash
# Installs CollisionOS Hub as a systemd service on Debian/Ubuntu.
#
#   sudo bash install/install.sh [--binary PATH] [--root DIR] [--dry-run]
#
# - creates the system user `collisionos` and the data dir /var/lib/collisionos (0700),
# - installs the binary to /usr/local/bin/collisionos,
# - writes /etc/collisionos/collisionos.env from install/collisionos.env.example
#   (kept if it already exists: your settings are never overwritten),
# - installs /etc/systemd/system/collisionos.service and enables and starts it.
#
# --root DIR   installs into DIR instead of / (for tests and packaging): no user is
#              created, nothing is enabled or started; files are written under DIR.
# --dry-run    prints what it would do and changes nothing.
# --binary P   the binary to install (default: target/release/collisionos, built
#              with `cargo build --release` if missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"

root=""
dry=0
binary="$repo/target/release/collisionos"
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="${2:?--root needs a folder}"; shift 2 ;;
        --dry-run) dry=1; shift ;;
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

prefix=/usr/local
etc=/etc/collisionos
data=/var/lib/collisionos
unit_dir=/etc/systemd/system

run() {
    if [ "$dry" = 1 ]; then
        printf 'would run:'; printf ' %q' "$@"; printf '\n'
    else
        "$@"
    fi
}

if [ -z "$root" ] && [ "$dry" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (sudo), or use --root DIR / --dry-run" >&2
    exit 1
fi
if [ ! -x "$binary" ]; then
    if [ "$binary" = "$repo/target/release/collisionos" ] && [ "$dry" = 0 ]; then
        (cd "$repo" && cargo build --release --locked)
    else
        [ "$dry" = 1 ] || { echo "install.sh: no binary at $binary" >&2; exit 1; }
    fi
fi

R="${root%/}"
if [ -z "$root" ]; then
    if getent passwd collisionos >/dev/null; then
        echo "user collisionos exists"
    else
        run useradd --system --home-dir "$data" --shell /usr/sbin/nologin collisionos
    fi
fi
run install -d -m 0755 "$R$prefix/bin" "$R$etc" "$R$unit_dir" "$R$prefix/share/doc/collisionos"
run install -d -m 0700 "$R$data"
[ -z "$root" ] && run chown collisionos:collisionos "$R$data"
run install -m 0755 "$binary" "$R$prefix/bin/collisionos"
if [ -e "$R$etc/collisionos.env" ]; then
    echo "keeping $R$etc/collisionos.env"
else
    run install -m 0640 "$here/collisionos.env.example" "$R$etc/collisionos.env"
fi
run install -m 0644 "$repo/README.md" "$R$prefix/share/doc/collisionos/README.md"
unit="$(sed -e "s#@PREFIX@#$prefix#g" -e "s#@ETC@#$etc#g" -e "s#@DATA@#$data#g" "$here/collisionos.service")"
if [ "$dry" = 1 ]; then
    echo "would write $R$unit_dir/collisionos.service"
else
    printf '%s\n' "$unit" > "$R$unit_dir/collisionos.service"
    chmod 0644 "$R$unit_dir/collisionos.service"
fi
if [ -z "$root" ]; then
    run systemctl daemon-reload
    run systemctl enable --now collisionos.service
    echo "CollisionOS Hub is running: systemctl status collisionos; logs: journalctl -u collisionos"
    echo "Create the shop: open http://$(hostname -I 2>/dev/null | awk '{print $1}'):8080 or run"
    echo "  sudo -u collisionos COLLISIONOS_DATA_DIR=$data collisionos init --shop-name ... --owner-email ..."
else
    echo "installed under $R (no user created, nothing enabled)"
fi
