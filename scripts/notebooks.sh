#!/usr/bin/env bash
# npm run notebooks [NAME ...]: builds the library, then executes each notebook once, headless, in the
# project's tslab kernel, and converts that executed copy to offline HTML (no second execution):
#   out/notebooks/<name>.ipynb   the executed notebook, with its outputs
#   out/notebooks/<name>.html    the same, as one self-contained HTML page
# NAME is a notebook in notebooks/ (with or without .ipynb) or a path to any .ipynb file (run in its
# own folder); default: every notebooks/*.ipynb.
# A notebook whose cell fails is reported (its cell and error) and the others still run; the exit
# status is then non-zero.
#
# Environment:
#   DDTB_BUDGET               smoke | quick | paper (default quick), read by the notebooks
#   DDTB_DATA                 data root, relative to the repository root (default ../shared/data)
#   DDTB_NB_STARTUP_TIMEOUT   seconds for the kernel to start (default 120)
#   DDTB_NB_CELL_TIMEOUT      seconds per cell (default 900; a cell running longer fails)
#   DDTB_NOTEBOOKS_OUT        output folder (default out/notebooks)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/runtime_env.sh
source scripts/jupyter_env.sh

export DDTB_BUDGET="${DDTB_BUDGET:-quick}"
case "$DDTB_BUDGET" in
  smoke|quick|paper) ;;
  *) echo "notebooks: DDTB_BUDGET=$DDTB_BUDGET: expected smoke, quick or paper" >&2; exit 2 ;;
esac
export DDTB_DATA="${DDTB_DATA:-../shared/data}"
startup_timeout="${DDTB_NB_STARTUP_TIMEOUT:-120}"
cell_timeout="${DDTB_NB_CELL_TIMEOUT:-900}"
out="${DDTB_NOTEBOOKS_OUT:-out/notebooks}"

kernelspec="$JUPYTER_DATA_DIR/kernels/$DDTB_KERNEL_NAME/kernel.json"
if [ ! -f "$kernelspec" ]; then
  echo "notebooks: ${kernelspec#"$root"/} missing: run npm run setup (or node scripts/write_kernelspec.js)" >&2
  exit 1
fi
if [ ! -x /usr/bin/jupyter-nbconvert ]; then
  echo "notebooks: /usr/bin/jupyter-nbconvert missing: run npm run setup (apt package jupyter-nbconvert)" >&2
  exit 1
fi

notebooks=()
if [ "$#" -eq 0 ]; then
  shopt -s nullglob
  notebooks=(notebooks/*.ipynb)
  shopt -u nullglob
  if [ "${#notebooks[@]}" -eq 0 ]; then echo "notebooks: no notebooks/*.ipynb" >&2; exit 1; fi
else
  for arg in "$@"; do
    if [[ "$arg" == *.ipynb && -f "$arg" ]]; then notebooks+=("$arg"); continue; fi
    name="$(basename "$arg" .ipynb)"
    if [ ! -f "notebooks/$name.ipynb" ]; then echo "notebooks: notebooks/$name.ipynb not found" >&2; exit 2; fi
    notebooks+=("notebooks/$name.ipynb")
  done
fi

echo "# npm run build"
npm run --silent build

mkdir -p "$out"
work="$(mktemp -d "$out/.work-XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "# executing ${#notebooks[@]} notebook(s), budget $DDTB_BUDGET, kernel $DDTB_KERNEL_NAME, cell timeout ${cell_timeout}s -> $out/"
failed=()
for nb in "${notebooks[@]}"; do
  name="$(basename "$nb" .ipynb)"
  start=$SECONDS
  rm -f "$out/$name.ipynb" "$out/$name.html"
  # The kernel's working directory is the notebook's own folder (notebooks/). nbconvert's log goes
  # to out/notebooks/<name>.log; on failure we print the failing cell's error (written by the hook
  # in nbconvert_config.py) and the log's tail, and go on with the next notebook.
  log="$out/$name.log"
  export DDTB_NB_ERROR_FILE="$work/$name.error"
  if ! /usr/bin/jupyter-nbconvert --config scripts/nbconvert_config.py --to notebook --execute \
      --ExecutePreprocessor.kernel_name="$DDTB_KERNEL_NAME" \
      --ExecutePreprocessor.startup_timeout="$startup_timeout" \
      --ExecutePreprocessor.timeout="$cell_timeout" \
      --output-dir "$work" --output "$name.ipynb" --log-level=WARN "$nb" >"$log" 2>&1; then
    echo "$name: FAILED after $((SECONDS - start)) s ($nb)" >&2
    if [ -s "$DDTB_NB_ERROR_FILE" ]; then sed 's/^/  /' "$DDTB_NB_ERROR_FILE" >&2; fi
    echo "  nbconvert said (full log: $log):" >&2
    grep -v '^[[:space:]]*$' "$log" | tail -n 6 | sed 's/^/  | /' >&2
    failed+=("$name")
    continue
  fi
  # The executed copy becomes HTML; nothing runs again.
  /usr/bin/python3 scripts/nb_offline_html.py "$work/$name.ipynb" "$work/$name.html"
  mv -f "$work/$name.ipynb" "$out/$name.ipynb"
  mv -f "$work/$name.html" "$out/$name.html"
  echo "$name: ok in $((SECONDS - start)) s -> $out/$name.ipynb, $out/$name.html"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "notebooks: ${#failed[@]} of ${#notebooks[@]} failed: ${failed[*]}" >&2
  exit 1
fi
