#!/usr/bin/env bash
# Installs the front-end packages pinned in frontend/package-lock.json from npm and copies what
# the pages use into src/guarita/web/static/vendor (never committed, never from a CDN).
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=src/guarita/web/static/vendor
stamp=$vendor/.guarita-lock
want=$(cat frontend/package-lock.json scripts/setup-frontend.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
(cd frontend && npm ci --no-audit --no-fund --loglevel=error)
nm=frontend/node_modules
rm -rf "$vendor"; mkdir -p "$vendor"/{govbr-ds,fontawesome/css,raleway,altcha,axe}
cp "$nm/@govbr-ds/core/dist/core.min.css" "$nm/@govbr-ds/core/dist/core-init.min.js" "$vendor/govbr-ds/"
cp "$nm/@fortawesome/fontawesome-free/css/all.min.css" "$vendor/fontawesome/css/"
cp -r "$nm/@fortawesome/fontawesome-free/webfonts" "$vendor/fontawesome/"
# Raleway: only the weights and subsets the pages use (latin covers Portuguese and Spanish).
mkdir -p "$vendor/raleway/files"
for w in 400 500 600 700; do
  cp "$nm/@fontsource/raleway/files/raleway-latin-$w-normal.woff2" "$vendor/raleway/files/"
  cp "$nm/@fontsource/raleway/files/raleway-latin-$w-italic.woff2" "$vendor/raleway/files/" 2>/dev/null || true
done
python3 - "$vendor/raleway" <<'PY'
import sys, pathlib
out = pathlib.Path(sys.argv[1]) / "raleway.css"
rules = []
for w in (400, 500, 600, 700):
    rules.append(
        "@font-face{font-family:'Raleway';font-style:normal;font-display:swap;"
        f"font-weight:{w};src:url(files/raleway-latin-{w}-normal.woff2) format('woff2')}}"
    )
out.write_text("\n".join(rules) + "\n")
PY
if [ -d "$nm/altcha" ]; then
  cp -r "$nm/altcha/dist/." "$vendor/altcha/"
fi
if [ -f "$nm/axe-core/axe.min.js" ]; then cp "$nm/axe-core/axe.min.js" "$vendor/axe/"; fi
echo "$want" > "$stamp"
