#!/usr/bin/env bash
# npm run setup: everything a fresh Debian 12 clone needs, offline apart from the npm registry and
# the Debian archive, in this order (environment.md explains each piece):
#   1. system packages (scripts/system_packages.txt) with apt, when any is missing: one
#      `apt-get update`, then one `apt-get install -y`. Without root it prints the command instead;
#   2. npm ci, unless node_modules/ already matches package-lock.json exactly;
#   3. the native addon, through scripts/build_native.sh when that script exists (issue 4);
#   4. npm run build (lib/ -> dist/, which the notebooks import);
#   5. the tslab kernelspec in .jupyter-local/ (rewritten every run: the clone may have moved).
# Idempotent: a second run finds nothing to install and takes seconds.
# Plain bash and Node only: ts-node and the library exist only after steps 2 and 4.
#   DDTB_SETUP_NPM=ci   run npm ci even when node_modules/ looks current
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

summary=()
note() { summary+=("$(printf '%-11s %s' "$1" "$2")"); }
started() { step_start=$SECONDS; echo "# $*"; }
took() { echo "$((SECONDS - step_start)) s"; }

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# --- 1. system packages ------------------------------------------------------------------------
started "system packages (scripts/system_packages.txt)"
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' scripts/system_packages.txt | grep -v '^$')
missing=()
for pkg in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done
apt_install=(apt-get install -y "${packages[@]}")
if [ "${#missing[@]}" -eq 0 ]; then
  echo "all ${#packages[@]} installed"
  note apt "all ${#packages[@]} packages installed"
elif [ "$(id -u)" -eq 0 ]; then
  echo "missing: ${missing[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive "${apt_install[@]}"
  note apt "installed ${missing[*]} ($(took))"
else
  echo "setup: not root, so these packages cannot be installed here: ${missing[*]}" >&2
  echo "setup: run as root:  apt-get update && DEBIAN_FRONTEND=noninteractive ${apt_install[*]}" >&2
  note apt "MISSING ${missing[*]} (not root; command printed above)"
fi

# --- 2. npm ci ---------------------------------------------------------------------------------
started "npm packages (package-lock.json)"
# Skipped when node_modules/ holds exactly what npm ci would install (scripts/npm_current.js says why not).
npm_current=0
if npm_state="$(node scripts/npm_current.js)"; then npm_current=1; fi
if [ "$npm_current" -eq 1 ] && [ "${DDTB_SETUP_NPM:-}" != ci ]; then
  echo "node_modules/ matches package-lock.json"
  note npm "node_modules/ current (npm ci skipped)"
else
  echo "npm ci (${npm_state:-DDTB_SETUP_NPM=ci})"
  npm ci --no-audit --no-fund
  note npm "npm ci ($(took))"
fi
if [ -f node_modules/@tensorflow/tfjs-node/package.json ]; then
  note tfjs-node "installed: the tensorflow backend is used (DDTB_BACKEND=cpu forces cpu)"
else
  note tfjs-node "not installed (optional; its libtensorflow download needs the internet): cpu backend"
fi

# --- 3. native addon (issue 4) -----------------------------------------------------------------
if [ -f scripts/build_native.sh ]; then
  started "native addon (scripts/build_native.sh)"
  bash scripts/build_native.sh
  if [ -f build/Release/ddtb_native.node ]; then
    note native "build/Release/ddtb_native.node ($(took))"
  else
    note native "not built: $(cat build/native_skipped.txt 2>/dev/null || echo 'see the output above'); pure-JS kernels"
  fi
else
  note native "no scripts/build_native.sh yet: pure-JS kernels"
fi

# --- 4. build ----------------------------------------------------------------------------------
started "npm run build (lib/ -> dist/)"
npm run --silent build
note build "dist/ ($(took))"

# --- 5. kernelspec -----------------------------------------------------------------------------
started "Jupyter kernelspec"
kernelspec="$(node scripts/write_kernelspec.js)"
note kernel "$kernelspec (TypeScript (ddtb-lab), on JUPYTER_PATH in npm run lab/notebooks)"
for tool in /usr/bin/jupyter-nbconvert /usr/bin/jupyter-notebook /usr/bin/chromium; do
  [ -x "$tool" ] || note missing "$tool (see the apt line above)"
done

echo
echo "setup done in $SECONDS s:"
printf '  %s\n' "${summary[@]}"
