#!/usr/bin/env bash
# Builds the native kernel addon build/Release/ddtb_native.node (native/*.cc on oneDNN), offline,
# against the local Node headers. Run by npm's install hook (`npm ci`), by `npm run setup`, or by hand:
#   bash scripts/build_native.sh
#
# The addon is optional: when a prerequisite is missing (C++ compiler, make, Python 3 for node-gyp,
# Node's headers, oneDNN: Debian's libdnnl-dev) this prints why, records the reason in
# build/native_skipped.txt (which `ddtb doctor` reports) and exits 0; the library then runs on tfjs's
# pure-JS kernels. A compile error fails a manual run; under npm's install hook it is reported and
# the install still succeeds.
#
# Environment:
#   DDTB_NATIVE_BUILD=0   skip the build
#   DDTB_NATIVE_REBUILD=1 rebuild even when the addon is newer than its sources
#   CXX                   the C++ compiler probed (default c++)
#   DDTB_DNNL_HEADER      the oneDNN header probed (default oneapi/dnnl/dnnl.hpp; a wrong name
#                         simulates a machine without oneDNN)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

skipped_file=build/native_skipped.txt
in_hook=0
case "${npm_lifecycle_event:-}" in install | postinstall | preinstall) in_hook=1 ;; esac

say() { echo "ddtb native: $*"; }

# Records why the addon is not built and exits 0 (the pure-JS kernels remain).
skip() {
  mkdir -p build
  rm -f build/Release/ddtb_native.node
  printf '%s\n' "$1" >"$skipped_file.tmp" && mv "$skipped_file.tmp" "$skipped_file"
  say "not built: $1"
  say "the library runs on tfjs's pure-JS kernels; \`ddtb doctor\` shows this reason"
  exit 0
}

# A build that should have worked and did not.
fail() {
  mkdir -p build
  printf '%s\n' "build failed: $1" >"$skipped_file.tmp" && mv "$skipped_file.tmp" "$skipped_file"
  say "BUILD FAILED: $1"
  if [ "$in_hook" = 1 ]; then
    say "continuing the install on the pure-JS kernels; rerun \`bash scripts/build_native.sh\` to see the error"
    exit 0
  fi
  exit 1
}

if [ "${DDTB_NATIVE_BUILD:-1}" = 0 ]; then
  if [ -f build/Release/ddtb_native.node ]; then
    say "DDTB_NATIVE_BUILD=0: not building; the existing build/Release/ddtb_native.node stays"
    exit 0
  fi
  skip "DDTB_NATIVE_BUILD=0 at install (unset it and run \`bash scripts/build_native.sh\`)"
fi

# Up to date: the addon is newer than its sources, the build files and this script.
addon=build/Release/ddtb_native.node
if [ -f "$addon" ] && [ "${DDTB_NATIVE_REBUILD:-0}" != 1 ] &&
  [ -z "$(find native binding.gyp scripts/build_native.sh -newer "$addon" -print -quit 2>/dev/null)" ] &&
  node -e "require('./$addon').info()" >/dev/null 2>&1; then
  rm -f "$skipped_file"
  say "build/Release/ddtb_native.node is up to date (DDTB_NATIVE_REBUILD=1 rebuilds it)"
  exit 0
fi

cxx="${CXX:-c++}"
command -v "$cxx" >/dev/null 2>&1 || skip "no C++ compiler ($cxx): install g++, then run \`bash scripts/build_native.sh\`"
command -v make >/dev/null 2>&1 || skip "make not found: install make, then run \`bash scripts/build_native.sh\`"
command -v python3 >/dev/null 2>&1 || skip "python3 not found (node-gyp needs it): install python3, then run \`bash scripts/build_native.sh\`"

# Node's headers, so that node-gyp never downloads them: npm's nodedir setting (.npmrc), else the
# prefix of the running node.
nodedir="${npm_config_nodedir:-}"
if [ -z "$nodedir" ] || [ ! -f "$nodedir/include/node/node_api.h" ]; then
  nodedir="$(cd "$(dirname "$(readlink -f "$(command -v node)")")/.." && pwd)"
fi
[ -f "$nodedir/include/node/node_api.h" ] || skip "Node's C headers not found (include/node/node_api.h under npm's nodedir or node's prefix): install Node's development headers (Debian: libnode-dev), then run \`bash scripts/build_native.sh\`"

# node-gyp: the one npm passes to lifecycle scripts, else the one bundled with npm.
gyp="${npm_config_node_gyp:-}"
if [ -z "$gyp" ] || [ ! -f "$gyp" ]; then
  npm_cli="$(readlink -f "$(command -v npm 2>/dev/null)" 2>/dev/null || true)"
  gyp="$(dirname "${npm_cli:-.}")/../node_modules/node-gyp/bin/node-gyp.js"
fi
[ -f "$gyp" ] || gyp="node_modules/.bin/node-gyp"
[ -e "$gyp" ] || skip "node-gyp not found (it ships with npm): reinstall npm, then run \`bash scripts/build_native.sh\`"

node -e "require('node-addon-api')" >/dev/null 2>&1 || skip "node-addon-api missing: run \`npm ci\` first"

# oneDNN: its C++ header and the library, probed with the compiler's own search paths.
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
header="${DDTB_DNNL_HEADER:-oneapi/dnnl/dnnl.hpp}"
printf '#include <%s>\nint main() { return dnnl_version()->major > 0 ? 0 : 1; }\n' "$header" >"$probe/p.cc"
"$cxx" -std=c++17 -fsyntax-only "$probe/p.cc" >/dev/null 2>&1 ||
  skip "oneDNN headers not found (<$header>): install libdnnl-dev (Debian/Ubuntu), then run \`bash scripts/build_native.sh\`"
"$cxx" -std=c++17 "$probe/p.cc" -o "$probe/p" -ldnnl >/dev/null 2>&1 ||
  skip "oneDNN library not linkable (-ldnnl): install libdnnl-dev, then run \`bash scripts/build_native.sh\`"
"$cxx" -fopenmp -x c++ -o "$probe/omp" - >/dev/null 2>&1 <<<'int main() { return 0; }' ||
  skip "the compiler has no OpenMP (-fopenmp): install a GCC with libgomp, then run \`bash scripts/build_native.sh\`"

say "building with node-gyp (nodedir $nodedir), oneDNN from the system paths"
log="$probe/build.log"
if ! node "$gyp" rebuild --nodedir="$nodedir" >"$log" 2>&1; then
  tail -n 40 "$log"
  fail "node-gyp rebuild exited non-zero"
fi
[ -f build/Release/ddtb_native.node ] || fail "node-gyp finished without build/Release/ddtb_native.node"
if ! version="$(node -e "const a = require('./build/Release/ddtb_native.node').info(); process.stdout.write('oneDNN ' + a.onednn + ', ' + a.threads + ' OpenMP threads')" 2>&1)"; then
  rm -f build/Release/ddtb_native.node
  fail "the built addon does not load: $version"
fi
rm -f "$skipped_file"
say "built build/Release/ddtb_native.node ($version)"
