#!/usr/bin/env bash
# `make cluster-stop`: stops what scripts/cluster/start.sh started, front to back, and keeps
# the data under var/cluster for the next start (remove the folder to start from nothing).
set -uo pipefail
source "$(dirname "$0")/common.sh"
stop_pids() {  # pid files: SIGTERM to all at once, SIGKILL to what is left after 10 s
  local pids=() file pid
  for file in "$@"; do
    [ -f "$file" ] || continue
    pid=$(cat "$file")
    rm -f "$file"
    kill "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 100); do
    local left=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ $left -eq 1 ] || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  return 0
}
stop_pids "$CLUSTER_DIR/run/haproxy.pid"  # first, so nothing new reaches the servers
stop_pids "$CLUSTER_DIR"/run/{server1,server2,worker,smtp}.pid
stop_pids "$CLUSTER_DIR/pgbouncer/pgbouncer.pid"
if [ -f "$PG_DATA/PG_VERSION" ]; then
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1
fi
echo "  Cluster parado (dados em $CLUSTER_DIR)."
