#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite and the benchmark.
#
#   source tools/throwaway_postgres.sh   # starts it, exports LEDGERLINK_TEST_POSTGRES_URL
#   ...                                  # run pytest / bench/store.py
#   throwaway_postgres_stop              # stops it and deletes its folder
#
# Installs Debian's `postgresql` package when no server binaries are present (needs
# root or sudo), makes a cluster under a temporary folder owned by the `postgres` user
# (the server refuses to run as root), and starts it on a free TCP port of 127.0.0.1 with
# password (scram-sha-256) authentication. Nothing outside the temporary folder changes.

throwaway_postgres_start() {
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bindir" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing PostgreSQL (Debian's postgresql package) for the tests"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
  if [ -z "$bindir" ]; then
    echo "No PostgreSQL server binaries: the PostgreSQL half of the tests will be skipped." >&2
    return 1
  fi
  local run_as=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    run_as=(runuser -u postgres --)
  fi
  THROWAWAY_PG_DIR=$(mktemp -d /tmp/ledgerlink-pg.XXXXXX)
  chmod 0755 "$THROWAWAY_PG_DIR"
  local password
  password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  printf '%s\n' "$password" >"$THROWAWAY_PG_DIR/pwfile"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$THROWAWAY_PG_DIR"
  "${run_as[@]}" "$bindir/initdb" -D "$THROWAWAY_PG_DIR/data" -U postgres \
    --auth=scram-sha-256 --pwfile="$THROWAWAY_PG_DIR/pwfile" -E UTF8 --no-sync >/dev/null
  rm -f "$THROWAWAY_PG_DIR/pwfile"
  # A test server: durability off (fsync) is what makes it quick; never do this for real data.
  "${run_as[@]}" "$bindir/pg_ctl" -D "$THROWAWAY_PG_DIR/data" -l "$THROWAWAY_PG_DIR/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $THROWAWAY_PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    -w start >/dev/null
  THROWAWAY_PG_BINDIR=$bindir
  export LEDGERLINK_TEST_POSTGRES_URL="postgresql://postgres:${password}@127.0.0.1:${port}/postgres"
  export PATH="$bindir:$PATH"  # pg_dump for the backup-before-migrate tests
  echo "Throwaway PostgreSQL on 127.0.0.1:$port (data in $THROWAWAY_PG_DIR)"
}

throwaway_postgres_stop() {
  [ -n "${THROWAWAY_PG_DIR:-}" ] || return 0
  local run_as=()
  [ "$(id -u)" -eq 0 ] && run_as=(runuser -u postgres --)
  "${run_as[@]}" "$THROWAWAY_PG_BINDIR/pg_ctl" -D "$THROWAWAY_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$THROWAWAY_PG_DIR"
  unset THROWAWAY_PG_DIR LEDGERLINK_TEST_POSTGRES_URL
}

throwaway_postgres_start
