#!/usr/bin/env bash
# The test command (README, .ci/run): one type check, then node's test runner over every
# test/**/*.test.ts file, run through ts-node (transpile-only).
#   scripts/test.sh                 the whole suite
#   scripts/test.sh test/metrics    only the files under the given paths
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/runtime_env.sh
export DDTB_DATA="${DDTB_DATA:-../shared/data}"

if [ "$#" -eq 0 ]; then
  echo "# type check (tsc --noEmit)"
  node_modules/.bin/tsc -p tsconfig.json --noEmit
  set -- test
fi
mapfile -t files < <(find "$@" -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files under: $*" >&2; exit 1; fi
exec node --require ts-node/register/transpile-only --test --test-reporter=spec "${files[@]}"
