#!/usr/bin/env bash
# npm run lab: builds the library, then starts Jupyter Notebook on 127.0.0.1 serving notebooks/, with
# the project's TypeScript kernel (written by npm run setup) on Jupyter's path. No browser is opened:
# open the URL with the token that Jupyter prints.
#   DDTB_LAB_PORT   port (default 8888; Jupyter takes the next free one when it is busy)
#   DDTB_BUDGET     smoke | quick | paper (default quick), read by the notebooks
#   DDTB_DATA       data root, relative to the repository root (default ../shared/data)
# Extra arguments go to `jupyter notebook` unchanged.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/runtime_env.sh
source scripts/jupyter_env.sh
export DDTB_BUDGET="${DDTB_BUDGET:-quick}"
export DDTB_DATA="${DDTB_DATA:-../shared/data}"

if [ ! -f "$JUPYTER_DATA_DIR/kernels/$DDTB_KERNEL_NAME/kernel.json" ]; then
  echo "lab: the TypeScript kernelspec is missing: run npm run setup" >&2
  exit 1
fi
if [ ! -x /usr/bin/jupyter-notebook ]; then
  echo "lab: /usr/bin/jupyter-notebook missing: run npm run setup (apt package jupyter-notebook)" >&2
  exit 1
fi

echo "# npm run build"
npm run --silent build
args=(--no-browser --ip=127.0.0.1 --port="${DDTB_LAB_PORT:-8888}" --notebook-dir="$root/notebooks")
# Jupyter refuses to run as root unless told; root is the normal case in containers.
if [ "$(id -u)" -eq 0 ]; then args+=(--allow-root); fi
echo "# Jupyter Notebook on 127.0.0.1 (kernel: TypeScript (ddtb-lab)); open the URL printed below"
exec /usr/bin/jupyter-notebook "${args[@]}" "$@"
