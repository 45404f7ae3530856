"""The trace report: JSON for machines and the console, one self-contained HTML page for people.

Only ids, counts and statistics: the leaked values themselves never enter a report.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

CHART_BARS = 15
CHART_WIDTH, BAR_HEIGHT, LABEL_WIDTH = 760, 22, 300


def _p_text(entry: Mapping[str, Any]) -> str:
    return f"1e{entry['log10_p']:.0f}" if entry["log10_p"] < -300 else f"{entry['p']:.3g}"


def chart_svg(ranking: list[Mapping[str, Any]]) -> str:
    """Horizontal bars of -log10 p for the top accessors (server-side, no script needed)."""
    bars = ranking[:CHART_BARS]
    if not bars:
        return "<p>No accessor saw any leaked waybill.</p>"
    longest = max(-b["log10_p"] for b in bars) or 1.0
    height = BAR_HEIGHT * len(bars) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{height}" role="img" '
             f'aria-label="-log10 p per accessor">']  # fmt: skip
    for i, bar in enumerate(bars):
        y = i * BAR_HEIGHT + 4
        width = max(1.0, (CHART_WIDTH - LABEL_WIDTH - 80) * (-bar["log10_p"]) / longest)
        label = html.escape(f"{bar['kind']} {bar['accessor']}")
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" font-size="12">{label}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT - 6}" fill="#c0392b"/>')
        parts.append(
            f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 15}" font-size="12">{-bar["log10_p"]:.1f}</text>'
        )
    parts.append(
        f'<text x="{LABEL_WIDTH}" y="{height - 6}" font-size="11">-log10 p (higher: less likely by chance)</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def report_html(report: Mapping[str, Any]) -> str:
    leak = report["leak"]
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            e["rank"], e["kind"], e["accessor"], e["seen"], e["hits"], e["expected"], e["lift"], _p_text(e),
            f"{e['p_adjusted']:.3g}",
        )) + "</tr>"
        for e in report["ranking"]
    )  # fmt: skip
    canaries = "".join(
        f"<li>{html.escape(c['waybill_id'])} planted at {html.escape(c['planted_at'])}</li>" for c in report["canaries"]
    )
    methods = ", ".join(f"{html.escape(k)} {v}" for k, v in leak["methods"].items())
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>泄露溯源报告 / Leak trace {html.escape(report["case_id"])}</title>
<style>body{{font-family:sans-serif;margin:1.5rem;max-width:60rem}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2rem .5rem;font-size:.85rem}}th{{background:#eee}}</style></head>
<body>
<h1>泄露溯源报告 / Leak trace report</h1>
<p>Case <code>{html.escape(report["case_id"])}</code>, {html.escape(str(report["created_at"]))}.
{leak["rows"]} leaked rows; {leak["matched"]} matched to waybills ({methods}); {leak["ambiguous"]} ambiguous,
{leak["unmatched"]} unmatched. Population: {report["population"]} waybills seen by any accessor, of which
{leak["in_population"]} leaked; {report["accessors_tested"]} accessors tested.</p>
<h2>Most likely sources</h2>
{chart_svg(report["ranking"])}
<h2>Canary waybills in the list</h2>
<ul>{canaries or "<li>none</li>"}</ul>
<h2>Ranking</h2>
<table><thead><tr><th>#</th><th>kind</th><th>accessor</th><th>saw</th><th>leaked among them</th>
<th>expected by chance</th><th>lift</th><th>p</th><th>p (Bonferroni)</th></tr></thead>
<tbody>{rows}</tbody></table>
<p>p: probability of seeing at least this many leaked waybills by chance (hypergeometric test).</p>
</body></html>
"""
