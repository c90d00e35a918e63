#!/usr/bin/env bash
# `make cluster`: PostgreSQL 15, PgBouncer (transaction pooling), two Guarita servers, one outbox
# worker, a development SMTP server and HAProxy in front, all on loopback (docs/scale.md).
# Idempotent: what already runs is left alone, so running it twice changes nothing.
set -euo pipefail
source "$(dirname "$0")/common.sh"
# Everything already up: nothing to do (not even the migration, which a running cluster got).
if alive "$CLUSTER_DIR/run/haproxy.pid" && alive "$CLUSTER_DIR/pgbouncer/pgbouncer.pid" &&
   alive "$CLUSTER_DIR/run/server1.pid" && alive "$CLUSTER_DIR/run/server2.pid" &&
   alive "$CLUSTER_DIR/run/worker.pid" && alive "$CLUSTER_DIR/run/smtp.pid"; then
  echo "  O cluster já está no ar: http://127.0.0.1:$CLUSTER_PORT"
  exit 0
fi
mkdir -p "$CLUSTER_DIR"/{run,log}
choose_ports
umask 077
[ -f "$CLUSTER_DIR/secret_key" ] || .venv/bin/python -c \
  'import secrets; print(secrets.token_urlsafe(48))' > "$CLUSTER_DIR/secret_key"
umask 022

# -- PostgreSQL 15: a cluster of its own, durable (fsync on), owned by the postgres user --------
if [ ! -f "$PG_DATA/PG_VERSION" ]; then
  mkdir -p "$CLUSTER_DIR/pg"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$CLUSTER_DIR/pg"
  as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
fi
# CLUSTER_PG_OPTIONS adds server options (the suite turns fsync off: its kills are of Guarita
# servers, not of the machine).
if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$CLUSTER_DIR/pg/postgres.log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $CLUSTER_DIR/pg -c max_connections=100 \
     ${CLUSTER_PG_OPTIONS:-}" start >/dev/null
fi
psql_admin() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc "$1"; }
[ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='guarita'")" = 1 ] ||
  psql_admin "CREATE ROLE guarita LOGIN"
[ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname='guarita'")" = 1 ] ||
  psql_admin "CREATE DATABASE guarita OWNER guarita"
GUARITA_DATABASE_URL=$DIRECT_URL "$GUARITA" migrate >/dev/null

# -- PgBouncer: transaction pooling; DEALLOCATE ALL after each transaction drops the statements
# SQLAlchemy prepared under random names (storage/database.py) --------------------------------
mkdir -p "$CLUSTER_DIR/pgbouncer"
cat > "$CLUSTER_DIR/pgbouncer/pgbouncer.ini" <<INI
[databases]
guarita = host=127.0.0.1 port=$PG_PORT dbname=guarita user=guarita

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $CLUSTER_DIR/pgbouncer/userlist.txt
pool_mode = transaction
; two servers x (10 + 10 overflow) client connections share 20 server connections
max_client_conn = 200
default_pool_size = 20
reserve_pool_size = 5
server_reset_query = DEALLOCATE ALL
server_reset_query_always = 1
ignore_startup_parameters = extra_float_digits
logfile = $CLUSTER_DIR/pgbouncer/pgbouncer.log
pidfile = $CLUSTER_DIR/pgbouncer/pgbouncer.pid
INI
echo '"guarita" ""' > "$CLUSTER_DIR/pgbouncer/userlist.txt"
[ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$CLUSTER_DIR/pgbouncer"
if ! alive "$CLUSTER_DIR/pgbouncer/pgbouncer.pid"; then
  as_postgres /usr/sbin/pgbouncer -d -q "$CLUSTER_DIR/pgbouncer/pgbouncer.ini"
  wait_port "$PGBOUNCER_PORT"
fi

# -- Guarita: SMTP sink, two servers, one worker ------------------------------------------------
guarita_env
start_process() {  # name, command…: runs in the background unless its pid file is alive
  local name=$1; shift
  alive "$CLUSTER_DIR/run/$name.pid" && return 0
  nohup "$@" >>"$CLUSTER_DIR/log/$name.log" 2>&1 &
  echo $! > "$CLUSTER_DIR/run/$name.pid"
}
start_process smtp "$GUARITA" dev-smtp --port "$SMTP_PORT" --folder "$CLUSTER_DIR/mail"
for i in 0 1; do
  start_process "server$((i + 1))" "$GUARITA" serve --port "${SERVER_PORTS[$i]}" --workers 1
done
start_process worker "$GUARITA" worker
# a server imports for several CPU-seconds; on a busy machine that takes minutes
for port in "${SERVER_PORTS[@]}"; do wait_port "$port" 240; done

# -- HAProxy: round robin, a server leaves the rotation when /readyz fails twice ----------------
cat > "$CLUSTER_DIR/haproxy.cfg" <<CFG
global
    maxconn 2000
    pidfile $CLUSTER_DIR/run/haproxy.pid

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    option forwardfor
    # a request that found a dead server is sent to the other one (no body was read yet)
    retries 2
    option redispatch

frontend guarita
    bind 127.0.0.1:$CLUSTER_PORT
    default_backend servers

backend servers
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
    server server1 127.0.0.1:${SERVER_PORTS[0]} check
    server server2 127.0.0.1:${SERVER_PORTS[1]} check
CFG
if ! alive "$CLUSTER_DIR/run/haproxy.pid"; then
  /usr/sbin/haproxy -D -f "$CLUSTER_DIR/haproxy.cfg"
fi
wait_port "$CLUSTER_PORT"
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$CLUSTER_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$CLUSTER_PORT/readyz" >/dev/null
cat <<MSG
  Guarita em cluster: http://127.0.0.1:$CLUSTER_PORT  (HAProxy → servidores ${SERVER_PORTS[*]})
  PgBouncer 127.0.0.1:$PGBOUNCER_PORT → PostgreSQL 127.0.0.1:$PG_PORT; estado em $CLUSTER_DIR
  Para parar: make cluster-stop
MSG
