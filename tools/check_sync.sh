#!/usr/bin/env bash
# Fails when `nbdev-clean`, `nbdev-export` or the README generator would change any file in the repository:
# notebooks must be committed clean, and ft_nb/ and README.md must be what the notebooks generate.
set -uo pipefail
cd "${1:-$(git rev-parse --show-toplevel)}"
snapshot() { git status --porcelain --untracked-files=all; git diff HEAD --binary | sha1sum; git ls-files -o --exclude-standard -z | xargs -0 -r sha1sum; }
before=$(snapshot)
nbdev-clean >/dev/null && nbdev-export >/dev/null && python tools/make_readme.py >/dev/null || { echo "check_sync: a generator failed"; exit 1; }
after=$(snapshot)
if [ "$before" != "$after" ]; then
  echo "check_sync: notebooks and generated files are out of sync. Run: nbdev-clean && nbdev-export && python tools/make_readme.py"
  diff <(echo "$before") <(echo "$after") | sed 's/^/  /'
  git --no-pager diff --stat
  exit 1
fi
echo "check_sync: clean and in sync"
