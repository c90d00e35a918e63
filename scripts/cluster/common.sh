# Shared by scripts/cluster/*.sh: where the cluster lives and which ports it takes.
# Everything is on loopback; state, pids and logs go under $CLUSTER_DIR (var/cluster).
# Ports follow CLUSTER_PORT (the balancer): +1, +2 the two Guarita servers, +3 PgBouncer,
# +4 PostgreSQL, +5 the development SMTP server. Unset, it is the block the last start chose
# ($CLUSTER_DIR/port), else 8300; start.sh moves to a free block when that one is taken by
# something else (another checkout's cluster, a test run) and writes the choice to
# $CLUSTER_DIR/port, where stop.sh and `make loadtest` read it.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
GUARITA=$ROOT/.venv/bin/guarita
CLUSTER_DIR=${CLUSTER_DIR:-$ROOT/var/cluster}
CLUSTER_PORT_GIVEN=${CLUSTER_PORT:+1}
if [ -z "${CLUSTER_PORT:-}" ] && [ -f "$CLUSTER_DIR/port" ]; then
  CLUSTER_PORT=$(cat "$CLUSTER_DIR/port")
fi
CLUSTER_PORT=${CLUSTER_PORT:-8300}
PG_BIN=${GUARITA_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DATA=$CLUSTER_DIR/pg/data

# The ports and URLs that follow from CLUSTER_PORT.
set_ports() {
  SERVER_PORTS=($((CLUSTER_PORT + 1)) $((CLUSTER_PORT + 2)))
  PGBOUNCER_PORT=$((CLUSTER_PORT + 3))
  PG_PORT=$((CLUSTER_PORT + 4))
  SMTP_PORT=$((CLUSTER_PORT + 5))
  # Guarita goes through PgBouncer (transaction pooling, storage/database.py); migrations and
  # bulk imports go straight to PostgreSQL (session state such as the import's temporary table).
  DIRECT_URL="postgresql+asyncpg://guarita@127.0.0.1:$PG_PORT/guarita"
  POOLED_URL="postgresql+asyncpg://guarita@127.0.0.1:$PGBOUNCER_PORT/guarita?pgbouncer=true"
}
set_ports

# Is nothing listening on ports $1 … $1+5?
ports_free() {
  local port
  for port in $(seq "$1" $(($1 + 5))); do
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
  done
}

# initdb, postgres and pgbouncer refuse to run as root: they run as the postgres system user.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The environment every Guarita process of the cluster shares; other GUARITA_ settings in the
# caller's environment (captcha, rate limits, …) pass through unchanged.
guarita_env() {
  export GUARITA_ENV=${GUARITA_ENV:-development}
  # warnings and errors only: HAProxy asks /readyz every second of each server
  export GUARITA_LOG_LEVEL=${GUARITA_LOG_LEVEL:-WARNING}
  export GUARITA_DATABASE_URL=$POOLED_URL
  export GUARITA_BASE_URL="http://127.0.0.1:$CLUSTER_PORT"
  export GUARITA_SECRET_KEY
  GUARITA_SECRET_KEY=$(cat "$CLUSTER_DIR/secret_key")
  export GUARITA_RUN_WORKER_IN_SERVER=false
  export GUARITA_SMTP__HOST=127.0.0.1 GUARITA_SMTP__PORT=$SMTP_PORT
  # HAProxy adds X-Forwarded-For; the servers believe it only from loopback.
  export GUARITA_TRUSTED_PROXIES='["127.0.0.1"]'
}

# Waits until a TCP port accepts connections (up to $2 seconds, 30 by default).
wait_port() {
  local deadline=$((SECONDS + ${2:-30}))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "porta $1 não abriu" >&2; return 1; }
    sleep 0.1
  done
}

# Is the process whose pid is in file $1 alive?
alive() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# Nothing of this cluster runs (a half-started one keeps its ports) and CLUSTER_PORT was not
# given: when the block is taken by something else, a free one. Writes the choice down.
choose_ports() {
  if [ -z "$CLUSTER_PORT_GIVEN" ] &&
     ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1 &&
     ! alive "$CLUSTER_DIR/pgbouncer/pgbouncer.pid" && ! alive "$CLUSTER_DIR/run/haproxy.pid" &&
     ! alive "$CLUSTER_DIR/run/server1.pid" && ! alive "$CLUSTER_DIR/run/server2.pid" &&
     ! alive "$CLUSTER_DIR/run/worker.pid" && ! alive "$CLUSTER_DIR/run/smtp.pid"; then
    # Another block below the kernel's ephemeral range (32768 and up), where the ports of
    # outgoing connections come from (tests/support/ports.py).
    for _ in $(seq 200); do
      ports_free "$CLUSTER_PORT" && break
      echo "  Portas $CLUSTER_PORT–$((CLUSTER_PORT + 5)) ocupadas; procurando outras." >&2
      CLUSTER_PORT=$((20000 + RANDOM % 12000))
    done
    ports_free "$CLUSTER_PORT" || { echo "Nenhum bloco de 6 portas livres encontrado." >&2; exit 1; }
    set_ports
  fi
  mkdir -p "$CLUSTER_DIR"
  echo "$CLUSTER_PORT" > "$CLUSTER_DIR/port"
}
