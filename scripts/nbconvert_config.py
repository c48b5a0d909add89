# nbconvert configuration for scripts/notebooks.sh (passed with --config).
#
# tslab reports a failing cell only through the cell's stderr stream: its execute reply carries no
# error name or message, so nbconvert's own error says "<Error>:" and nothing else. This hook
# writes the failing cell's number, first source line and stderr text (tslab's internal stack
# frames dropped) to the file named by DDTB_NB_ERROR_FILE, which notebooks.sh prints.
import os


def _stderr_text(cell):
    parts = []
    for out in cell.get('outputs', []):
        if out.get('output_type') == 'stream' and out.get('name') == 'stderr':
            parts.append(out.get('text', ''))
        elif out.get('output_type') == 'error':
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}\n")
    lines = ''.join(parts).splitlines()
    keep = [line for line in lines if 'node_modules/tslab/' not in line and 'node:vm:' not in line]
    return '\n'.join(keep[:40])


def report_failed_cell(cell, cell_index, execute_reply, **_):
    target = os.environ.get('DDTB_NB_ERROR_FILE')
    if not target:
        return
    first = (cell.get('source', '').strip().splitlines() or [''])[0]
    text = _stderr_text(cell) or '(the cell wrote nothing to stderr)'
    with open(target, 'a', encoding='utf-8') as f:
        f.write(f'cell {cell_index + 1} failed (counting markdown cells; it begins: {first[:100]})\n{text}\n')


c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.ExecutePreprocessor.on_cell_error = report_failed_cell
