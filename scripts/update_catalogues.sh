#!/usr/bin/env bash
# After adding or changing a user-facing string: refresh the template and merge it into
# nl, en and sv. Then translate the new entries (tests/test_i18n.py fails until you do).
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel extract --no-location --omit-header -k __ -o locales/ledenbot.pot bot handlers
pybabel update --no-fuzzy-matching --ignore-obsolete -i locales/ledenbot.pot -d locales -D ledenbot
