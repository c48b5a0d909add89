#!/usr/bin/env bash
# The test command (README, .ci/run): one type check, then node's test runner over every
# test/**/*.test.ts file, run through ts-node (transpile-only), with the native kernels when built;
# then the pure-JS subset again with DDTB_NATIVE=0 (formulas, official fixtures, tiny models, kernel
# parity), so both paths stay correct.
#   scripts/test.sh                 the whole suite, then the pure-JS subset
#   scripts/test.sh test/metrics    only the files under the given paths
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/runtime_env.sh
export DDTB_DATA="${DDTB_DATA:-../shared/data}"

# The subset that also runs on the pure-JS kernels (DDTB_NATIVE=0).
pure_js_subset=(
  test/quant
  test/nn
  test/golden/ddtb_official.test.ts
  test/models/edsr.test.ts
  test/models/checkpoint.test.ts
  test/eval/upscale.test.ts
  test/train/adam.test.ts
  test/train/losses.test.ts
  test/train/statistics_weights.test.ts
  test/train/pretrain.test.ts
  test/backend
)

run_tests() {
  mapfile -t files < <(find "$@" -name '*.test.ts' | sort)
  if [ "${#files[@]}" -eq 0 ]; then echo "no test files under: $*" >&2; return 1; fi
  # shellcheck disable=SC2086 # DDTB_NODE_FLAGS is a list of flags (the runner passes them to each test file's process)
  node $DDTB_NODE_FLAGS --require ts-node/register/transpile-only --test --test-reporter=spec "${files[@]}"
}

if [ "$#" -gt 0 ]; then
  run_tests "$@"
  exit
fi

echo "# type check (tsc --noEmit)"
node_modules/.bin/tsc -p tsconfig.json --noEmit
echo "# full suite ($([ -f build/Release/ddtb_native.node ] && echo 'native kernels' || echo 'pure JS: addon not built'))"
status=0
run_tests test || status=$?
if [ -f build/Release/ddtb_native.node ]; then
  echo "# pure-JS subset (DDTB_NATIVE=0): ${pure_js_subset[*]}"
  DDTB_NATIVE=0 run_tests "${pure_js_subset[@]}" || status=$?
fi
exit "$status"
