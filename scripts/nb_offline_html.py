"""Converts an executed notebook to one HTML file that works offline (no execution here).

nbconvert's `lab` template points a <script> at require.js and MathJax on a CDN. This converter
uses the same template with two blocks replaced:
  - require.js is inlined from Debian's libjs-requirejs, so the page has an AMD `define`, exactly
    like classic Jupyter Notebook (our plotly loader handles that case, and the browser check
    then exercises it);
  - MathJax is left out: MathJax 2 loads dozens of files at run time and cannot be inlined into
    one page. TeX in markdown cells shows as its source text.
Everything else the page needs (CSS, images, plotly.js from our display helper) is already inline.

Usage (Debian's Python, which has nbconvert): /usr/bin/python3 scripts/nb_offline_html.py IN.ipynb OUT.html
The output is written to a temporary file beside OUT.html, then renamed.
"""
import os
import sys

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

REQUIRE_JS = '/usr/share/javascript/requirejs/require.min.js'  # Debian package libjs-requirejs

TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}
<script>{{ resources.ddtb_inline_require_js }}</script>
{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
{%- endblock html_head_js_mathjax -%}
"""


def inline_script(source):
    """Script text safe inside <script>...</script>: no '</' sequence can end the element early."""
    return source.replace('</', '<\\/')


def convert(src, dst):
    if not os.path.exists(REQUIRE_JS):
        raise SystemExit(f'nb_offline_html: {REQUIRE_JS} missing (apt-get install libjs-requirejs; see scripts/system_packages.txt)')
    with open(REQUIRE_JS, encoding='utf-8') as f:
        require_js = inline_script(f.read())
    nb = nbformat.read(src, as_version=4)
    exporter = HTMLExporter(
        template_name='lab',
        extra_loaders=[DictLoader({'ddtb_offline.html.j2': TEMPLATE})],
        template_file='ddtb_offline.html.j2',
    )
    name = os.path.splitext(os.path.basename(dst))[0]
    resources = {'metadata': {'name': name, 'path': os.path.dirname(os.path.abspath(src))},
                 'ddtb_inline_require_js': require_js}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    tmp = f'{dst}.tmp-{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(body)
    os.replace(tmp, dst)


def main(argv):
    if len(argv) != 3:
        raise SystemExit('usage: nb_offline_html.py IN.ipynb OUT.html')
    convert(argv[1], argv[2])


if __name__ == '__main__':
    main(sys.argv)
