#!/usr/bin/env bash
# `make run`: migrate, load the demo when the database is empty, register the demo portal as a
# first-party client (idempotent: same client id, fresh secret), start a development SMTP server
# on loopback (so e-mails are delivered: `guarita dev-smtp`), serve the portal on the next port
# in the background and Guarita in the foreground; Ctrl-C stops everything, quietly.
set -euo pipefail
cd "$(dirname "$0")/.."
GUARITA=.venv/bin/guarita
var=${GUARITA_VAR_DIR:-var}
port=${GUARITA_PORT:-8000}
portal_port=$((port + 1))
export GUARITA_PORT=$port
# Unset, Guarita's base URL is the address it serves on (config.served_address); the portal
# needs it too.
base_url=${GUARITA_BASE_URL:-http://127.0.0.1:$port}
smtp_port=${GUARITA_SMTP__PORT:-1025}
# The demo offers facial validation too (Raimunda has a reference photo; docs/face.md).
export GUARITA_RECOVERY__METHODS=${GUARITA_RECOVERY__METHODS:-'["email","sms","face","bank"]'}
portal_url=http://127.0.0.1:$portal_port

$GUARITA migrate
$GUARITA demo --if-empty
mkdir -p "$var"
umask 077
$GUARITA clients ensure-demo-portal --redirect-uri "$portal_url/callback" \
  --post-logout-redirect-uri "$portal_url/saiu" \
  --backchannel-logout-uri "$portal_url/backchannel-logout" --json > "$var/demo-portal-client.json"

children=()
stop_children() {
  for child in "${children[@]}"; do kill "$child" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_children EXIT
# Ctrl-C as a message, not an error: make would otherwise report "Interrupt".
trap 'exit 0' INT TERM

$GUARITA dev-smtp --port "$smtp_port" --folder "$var/mail" &
children+=($!)
for _ in $(seq 50); do  # the first message must find it listening (up to 5 s)
  (exec 3<>"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null && break
  sleep 0.1
done

PORTAL_CLIENT_FILE="$var/demo-portal-client.json" PORTAL_URL=$portal_url \
PORTAL_GUARITA_URL=$base_url \
  .venv/bin/python -m uvicorn --app-dir examples/portal --factory app:create_app \
  --host 127.0.0.1 --port "$portal_port" --log-level warning &
children+=($!)

cat <<MSG

  Guarita:                 $base_url
  Portal do Beneficiário:  $portal_url   (entra e sai pelo Guarita)
  E-mails enviados:        $base_url/dev/outbox   (e guardados em $var/mail/)
  Experimente no portal: carteirinha 200100033, senha "senha antiga do portal 2019".
  Nível Prata: "Autorizar consignado" em $portal_url/consignado (com um banco de
  demonstração: .venv/bin/guarita demo --bank em outro terminal, senha banco123).
  Para parar: Ctrl-C.

MSG
if [ -t 0 ]; then
  # Job control: the server runs as the terminal's foreground job, so Ctrl-C reaches it alone;
  # make and this script are not interrupted and end without an error message.
  set -m
  $GUARITA serve &
  children+=($!)
  fg %3 >/dev/null || true
else
  $GUARITA serve &
  children+=($!)
  wait "${children[-1]}" || true
fi
echo "  Guarita parou."
