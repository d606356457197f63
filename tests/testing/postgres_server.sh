#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL 15 for tests and demos: initdb into DIR (as the
# postgres user when run as root), listening only on a unix socket in DIR, no systemd.
#   postgres_server.sh start DIR     initdb if needed, start, create database synmap; prints
#                                    the libpq URI (postgresql://postgres@/synmap?host=DIR)
#   postgres_server.sh stop DIR      fast shutdown (idempotent)
#   postgres_server.sh kill DIR      immediate shutdown (like a crash; recovery at next start)
# Exit 77 (the skip code) when PostgreSQL 15 is not installed.
# env SYNMAP_PG_OWNER_PID: stop the server (fast) once that process is gone, so a test that
# crashes does not leave it running.
set -euo pipefail

BIN=${SYNMAP_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: postgres_server.sh start|stop|kill DIR}
dir=${2:?usage: postgres_server.sh start|stop|kill DIR}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [ ! -x "$BIN/initdb" ] || [ ! -x "$BIN/pg_ctl" ]; then
  echo "postgres_server: PostgreSQL 15 is not installed ($BIN/initdb missing;" \
    "install postgresql-15)" >&2
  exit 77
fi
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "postgres_server: no postgres user to run PostgreSQL as (install postgresql-15)" >&2
  exit 77
fi

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres "$dir"
      chmod 755 "$(dirname "$dir")" 2>/dev/null || true
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -c listen_addresses= -c max_connections=200 -c fsync=on" start >/dev/null; then
      cat "$dir/server.log" >&2
      exit 1
    fi
    as_pg "$BIN/psql" -h "$dir" -U postgres -d postgres -qAt \
      -c "SELECT 1 FROM pg_database WHERE datname = 'synmap'" | grep -q 1 ||
      as_pg "$BIN/createdb" -h "$dir" -U postgres synmap
    if [ -n "${SYNMAP_PG_OWNER_PID:-}" ]; then
      # Detached watchdog: its output must not hold the caller's pipe open.
      nohup setsid bash -c "while kill -0 $SYNMAP_PG_OWNER_PID 2>/dev/null; do sleep 1; done
        bash '$0' stop '$dir'" >/dev/null 2>&1 </dev/null &
    fi
    echo "postgresql://postgres@/synmap?host=$dir"
    ;;
  stop | kill)
    mode=fast
    [ "$cmd" = kill ] && mode=immediate
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_pg "$BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "postgres_server: unknown command $cmd" >&2
    exit 2
    ;;
esac
