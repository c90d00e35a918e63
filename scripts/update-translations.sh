#!/usr/bin/env bash
# Extracts every translatable string (babel.cfg: Python, page templates, domain error messages)
# into src/guarita/web/locale/messages.pot and merges it into the en and es catalogues.
# Run it after adding or changing pages, then translate the entries it lists as untranslated or
# fuzzy in locale/{en,es}/LC_MESSAGES/messages.po, and run `make translations` (the server also
# reads a .po newer than its .mo directly). docs/pages-and-i18n.md.
set -euo pipefail
cd "$(dirname "$0")/.."
locale=src/guarita/web/locale
babel=(.venv/bin/python -m babel.messages.frontend -q)

"${babel[@]}" extract -F babel.cfg -o "$locale/messages.pot" \
  --project=Guarita --version=0.1 --copyright-holder="Guarita" \
  --add-location=file --sort-by-file --width=100 -c "TRANSLATORS:" \
  --ignore-dirs=".* _* frontend node_modules var artifacts tests bench docs scripts" .
for lang in en es; do
  po="$locale/$lang/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    "${babel[@]}" update -i "$locale/messages.pot" -d "$locale" -D messages -l "$lang" \
      --ignore-obsolete --previous --width=100
  else
    "${babel[@]}" init -i "$locale/messages.pot" -d "$locale" -D messages -l "$lang" --width=100
  fi
done
.venv/bin/python - "$locale" <<'PY'
import sys
from pathlib import Path
from babel.messages.pofile import read_po

todo = 0
for po in sorted(Path(sys.argv[1]).glob("*/LC_MESSAGES/messages.po")):
    with po.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        if not message.string or (isinstance(message.string, tuple) and not all(message.string)):
            print(f"{po.parts[-3]}: untranslated: {message.id!r}")
            todo += 1
        elif message.fuzzy:
            print(f"{po.parts[-3]}: fuzzy (check it): {message.id!r}")
            todo += 1
print(f"{todo} entries to translate or check" if todo else "catalogues complete")
PY
