# A throwaway PostgreSQL 15 server for scripts/test and scripts/bench. Source it,
# set `say` first, then call `start_postgres "EXTRA SERVER OPTIONS"`; on success
# PG_URL holds its URL. `stop_postgres` stops it and deletes its data (call it
# from an EXIT trap). Without PostgreSQL binaries start_postgres warns and
# returns 1.

PG_BIN="${TENDER_PG_BIN:-/usr/lib/postgresql/15/bin}"
pg_dir=""
pg_started=""

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Silent: the callers' last lines must stay their own (CI reads them).
stop_postgres() {
    if [ -n "$pg_started" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "$pg_dir" ]; then
        rm -rf "$pg_dir"
    fi
}

free_port() {
    python3 - <<'EOF' 2>/dev/null && return 0
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
    # No python3: pick a random high port nobody is listening on.
    local port
    for _ in $(seq 1 50); do
        port=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

start_postgres() {
    local extra_options="${1:-}"
    if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
        say "WARNING: PostgreSQL binaries not found in $PG_BIN"
        return 1
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        say "WARNING: running as root but there is no 'postgres' user to run PostgreSQL as"
        return 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        # /tmp, not $TMPDIR: the postgres user must be able to reach it.
        pg_dir=$(mktemp -d /tmp/tender-test-pg.XXXXXX)
        chown postgres: "$pg_dir"
    else
        pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/tender-test-pg.XXXXXX")
    fi
    chmod 700 "$pg_dir"
    if ! as_pg "$PG_BIN/initdb" -D "$pg_dir/data" -A trust -U tender -E UTF8 --no-locale >"$pg_dir/initdb.log" 2>&1; then
        say "ERROR: initdb failed:"
        cat "$pg_dir/initdb.log" >&2
        exit 1
    fi
    local port attempt
    for attempt in 1 2 3; do
        port=$(free_port) || { say "ERROR: no free port for PostgreSQL"; exit 1; }
        say "starting PostgreSQL 15 on 127.0.0.1:$port (data in $pg_dir)"
        if as_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
            -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200 $extra_options" \
            start >/dev/null 2>&1; then
            pg_started=1
            break
        fi
        say "PostgreSQL did not start on port $port (attempt $attempt)"
        tail -n 5 "$pg_dir/server.log" >&2 2>/dev/null || true
    done
    if [ -z "$pg_started" ]; then
        say "ERROR: could not start PostgreSQL"
        exit 1
    fi
    local ready=""
    for _ in $(seq 1 60); do
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U tender -d postgres; then
            ready=1
            break
        fi
        sleep 0.5
    done
    if [ -z "$ready" ]; then
        say "ERROR: PostgreSQL on port $port is not accepting connections:"
        tail -n 20 "$pg_dir/server.log" >&2 || true
        exit 1
    fi
    PG_URL="postgres://tender@127.0.0.1:$port/postgres?sslmode=disable"
    say "PostgreSQL ready: $PG_URL"
}

