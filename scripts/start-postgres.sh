#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the tests and prints its URL.
#
#   INTERLOCK_POSTGRES_URL=$(scripts/start-postgres.sh) go test ./store/...
#   scripts/start-postgres.sh stop     # stop the cluster (its data stays for the next start)
#   scripts/start-postgres.sh destroy  # stop it and delete its directory
#
# The cluster listens on 127.0.0.1 only (port $INTERLOCK_POSTGRES_PORT, default
# 55432, socket in its own directory), trusts local connections, and keeps its
# data in $INTERLOCK_POSTGRES_DIR (default ${TMPDIR:-/tmp}/interlock-postgres).
# PostgreSQL is installed from the distribution (apt-get) when missing. The
# script is idempotent: a running cluster is reused. Only the URL goes to
# stdout; progress goes to stderr.
set -euo pipefail

port=${INTERLOCK_POSTGRES_PORT:-55432}
dir=${INTERLOCK_POSTGRES_DIR:-${TMPDIR:-/tmp}/interlock-postgres}
db=interlock
user=postgres
url="postgres://$user@127.0.0.1:$port/$db?sslmode=disable"

log() { echo "start-postgres: $*" >&2; }

find_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ]; then
      echo "$d"
      return
    fi
  done
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

bindir=$(find_bindir)
if [ -z "$bindir" ]; then
  log "PostgreSQL not found; installing it with apt-get"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq postgresql >&2
  bindir=$(find_bindir)
  [ -n "$bindir" ] || { log "PostgreSQL installation failed"; exit 1; }
fi

# initdb and postgres refuse to run as root: run them as the postgres user.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  id "$user" >/dev/null 2>&1 || useradd --system --home-dir "$dir" "$user"
  as_owner=(runuser -u "$user" --)
else
  user=$(id -un)
  url="postgres://$user@127.0.0.1:$port/$db?sslmode=disable"
fi

data="$dir/data"
mkdir -p "$dir"
[ ${#as_owner[@]} -eq 0 ] || chown "$user" "$dir"

# One caller at a time (parallel test runs may call the script together).
exec 9>"$dir.lock"
flock 9

pgctl() { "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" "$@"; }

case "${1:-start}" in
stop)
  if [ -f "$data/postmaster.pid" ]; then pgctl stop -m fast >&2 || true; fi
  exit 0
  ;;
destroy)
  if [ -f "$data/postmaster.pid" ]; then pgctl stop -m immediate >&2 || true; fi
  rm -rf "$dir"
  exit 0
  ;;
start) ;;
*)
  echo "usage: $0 [start|stop|destroy]" >&2
  exit 2
  ;;
esac

if [ ! -f "$data/PG_VERSION" ]; then
  log "creating a cluster in $data"
  rm -rf "$data"
  "${as_owner[@]}" "$bindir/initdb" -D "$data" -U "$user" --auth=trust -E UTF8 --no-sync >/dev/null
fi

if ! pgctl status >/dev/null 2>&1; then
  log "starting PostgreSQL on 127.0.0.1:$port"
  # fsync stays on: the tests check durability.
  # The server must not inherit the lock (fd 9) or our stdout/stderr.
  if ! pgctl start -w -t 60 -l "$dir/postgres.log" \
    -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=200" </dev/null >"$dir/pg_ctl.out" 2>&1 9>&-; then
    cat "$dir/pg_ctl.out" "$dir/postgres.log" >&2 || true
    exit 1
  fi
fi

psql=("${as_owner[@]}" "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -qtA)
if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  "${psql[@]}" -c "CREATE DATABASE $db" >/dev/null
fi
echo "$url"
