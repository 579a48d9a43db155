# SPDX-License-Identifier: GPL-2.0
"""Shared HTML pieces: one self-contained page, figures embedded as data: URIs."""

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CSS = """
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; }
td.l, th.l { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.meta td { text-align: left; }
.note { color: #666; font-size: 0.9em; }
.caption { color: #444; margin: 0.3em 0; }
.nodata { color: #555; font-style: italic; background: #f6f6f6; padding: 0.5em 0.8em; }
.headline { font-size: 1.08em; margin: 0.4em 0; }
.PASS { background: #d7f5d7; } .FAIL { background: #f8c8c8; font-weight: bold; }
.ERROR { background: #f8e0a0; } .SKIP { background: #e8e8e8; } .DONE { background: #dde8f8; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
"""


def esc(s):
    return html.escape(str(s), quote=True)


def fig_uri(fig, tight=True):
    """Render a matplotlib figure as a PNG data: URI and close it. TIGHT crops
    it to what is drawn (one more layout pass); a figure laid out by
    ``fig.tight_layout()`` already fits and is saved as it is."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def img(uri, alt):
    return f'<img src="{uri}" alt="{esc(alt)}">'


def table(headers, rows, left=1, cls=None):
    """An HTML table; the first LEFT columns are left-aligned; cells are escaped
    unless given as ("raw", html). A row may carry a class: (cls, [cells])."""
    out = [f'<table{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}><tr>']
    out += [f'<th class="l">{esc(h)}</th>' if i < left else f"<th>{esc(h)}</th>" for i, h in enumerate(headers)]
    out.append("</tr>")
    for row in rows:
        rcls = ""
        if isinstance(row, tuple) and len(row) == 2 and isinstance(row[1], list):
            rcls = f' class="{esc(row[0])}"'
            row = row[1]
        out.append(f"<tr{rcls}>")
        for i, c in enumerate(row):
            a = ' class="l"' if i < left else ""
            if isinstance(c, tuple) and c[0] == "raw":
                out.append(f"<td{a}>{c[1]}</td>")
            else:
                out.append(f"<td{a}>{esc(c)}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def page(title, body):
    return (f'<!DOCTYPE html>\n<!-- SPDX-License-Identifier: GPL-2.0 -->\n<html lang="en"><head>'
            f'<meta charset="utf-8"><title>{esc(title)}</title>'
            f'<link rel="icon" href="data:,"><style>{CSS}</style></head>'
            f"<body>\n{body}\n</body></html>\n")
