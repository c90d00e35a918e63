#!/usr/bin/env bash
# Debian packages the suite needs: PostgreSQL 15 (throwaway cluster), PgBouncer and HAProxy
# (the cluster of `make cluster` and tests/cluster) and Chromium (browser tests). Installs only what is missing, after a single `apt-get update`.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15 postgresql-client-15)
# the cluster: connection pooler in transaction mode and the load balancer (scripts/cluster/)
[ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
[ -x /usr/sbin/haproxy ] || need+=(haproxy)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null || need+=(npm)
# the PDF of Meus dados embeds DejaVu Sans when present (services/my_data_pdf.py)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Faltam pacotes do sistema: ${need[*]}. Rode como root ou instale com apt-get." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
