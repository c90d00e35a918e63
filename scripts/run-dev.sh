#!/usr/bin/env bash
# `make run`: migrate, load the demo when the database is empty, register the demo portal as a
# first-party client (idempotent: same client id, fresh secret), serve the portal on the next
# port in the background and Guarita in the foreground; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
GUARITA=.venv/bin/guarita
port=${GUARITA_PORT:-8000}
portal_port=$((port + 1))
export GUARITA_PORT=$port
export GUARITA_BASE_URL=${GUARITA_BASE_URL:-http://127.0.0.1:$port}
portal_url=http://127.0.0.1:$portal_port

$GUARITA migrate
$GUARITA demo --if-empty
mkdir -p var
umask 077
$GUARITA clients ensure-demo-portal --redirect-uri "$portal_url/callback" \
  --post-logout-redirect-uri "$portal_url/saiu" --json > var/demo-portal-client.json

PORTAL_CLIENT_FILE=var/demo-portal-client.json PORTAL_URL=$portal_url \
PORTAL_GUARITA_URL=$GUARITA_BASE_URL \
  .venv/bin/python -m uvicorn --app-dir examples/portal --factory app:create_app \
  --host 127.0.0.1 --port "$portal_port" --log-level warning &
portal_pid=$!
trap 'kill "$portal_pid" 2>/dev/null || true' EXIT INT TERM

cat <<MSG

  Guarita:                 $GUARITA_BASE_URL
  Portal do Beneficiário:  $portal_url   (entra e sai pelo Guarita)
  Experimente no portal: carteirinha 200100033, senha "senha antiga do portal 2019".

MSG
$GUARITA serve
