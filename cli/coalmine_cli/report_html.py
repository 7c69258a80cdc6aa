"""`coalmine report`: one self-contained HTML page (inline SVG and CSS, no script, no network)
drawing a deployment's timeline (coalmine/timeline.py; docs/report.md): on one time axis the
new version's traffic weight, each version's error rate and latency (p99 solid, p50 dashed), the
ticks' verdicts as marks, the operator's actions and the decision line with its reason; below, the
gates' evidence per tick."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

WIDTH, LEFT, RIGHT = 1100, 90, 30
PANEL, GAP, MARKS = 130, 34, 36
COLOURS = {"old": "#1f6fb4", "new": "#e8741b"}
VERDICT_COLOURS = {"PASS": "#2e9e44", "INCONCLUSIVE": "#b5b5b5", "FAIL": "#d62728"}
OUTCOME_COLOURS = {"PROMOTED": "#2e9e44", "ROLLED_BACK": "#d62728"}
Points = list[tuple[float, float | None]]
Series = Callable[[str], Points]  # a version -> its (t, value) points
#: The evidence table shows at most this many ticks (the first and last halves).
TABLE_ROWS = 400

CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px;color:#222;
background:#fff}
h1{font-size:20px;margin:0 0 4px}
.meta{color:#555;font-size:13px;margin-bottom:8px}
.outcome{display:inline-block;padding:2px 8px;border-radius:4px;color:#fff;font-weight:600}
.reason{font-size:14px;margin:6px 0 12px}
svg text{font-size:11px;fill:#333}
svg .title{font-size:12px;font-weight:600}
svg .grid{stroke:#e4e4e4;stroke-width:1}
svg .axis{stroke:#888;stroke-width:1}
table{border-collapse:collapse;font-size:12px;margin-top:8px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}
td.PASS{color:#2e9e44}td.FAIL{color:#d62728;font-weight:600}td.INCONCLUSIVE{color:#777}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.swatch{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:4px}
"""


def render(tl: dict[str, Any]) -> str:
    """The page for the timeline ``tl``."""
    decision = tl.get("decision") or {}
    outcome = str(decision.get("outcome") or "UNKNOWN")
    colour = OUTCOME_COLOURS.get(outcome, "#8a6d00")
    title = f"{tl['function']}:{tl['alias']} v{tl.get('fromVersion')} \u2192 v{tl.get('toVersion')}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>coalmine report: {escape(title)}</title>",
            f"<style>{CSS}</style></head><body>",
            f"<h1>coalmine deployment report: {escape(title)}</h1>",
            f'<div class="meta">started {escape(tl["startedAt"])}, ended {escape(tl["endedAt"])}'
            f" &middot; {escape(tl.get('executionArn') or '')}</div>",
            f'<div><span class="outcome" id="outcome" style="background:{colour}">'
            f"{escape(outcome)}</span> {escape(_decided(decision))}</div>",
            f'<div class="reason" id="reason">Reason: {escape(str(decision.get("reason") or "-"))}'
            "</div>",
            _metrics_note(tl),
            _legend(tl),
            _chart(tl),
            _actions(tl),
            _table(tl),
            "</body></html>",
        ]
    )


def _metrics_note(tl: dict[str, Any]) -> str:
    """A line when CloudWatch's figures were read before every minute had settled."""
    if tl.get("metricsComplete", True):
        return ""
    through = tl.get("metricsThrough") or "no minute"
    return (
        f'<div class="meta" id="metrics">CloudWatch read at {escape(str(tl.get("metricsReadAt")))}'
        f": figures settled through {escape(str(through))} (later minutes may be incomplete)</div>"
    )


def _decided(decision: dict[str, Any]) -> str:
    t = decision.get("t")
    return f"decided at t+{t:g} s ({decision.get('at')})" if t is not None else "not decided"


def _legend(tl: dict[str, Any]) -> str:
    items = [
        (COLOURS["old"], f"v{tl.get('fromVersion')} (old)", ""),
        (COLOURS["new"], f"v{tl.get('toVersion')} (new)", ""),
    ] + [(c, f"tick {v}", "") for v, c in VERDICT_COLOURS.items()]
    spans = "".join(
        f'<span><i class="swatch" style="background:{c}"></i>{escape(label)}</span>'
        for c, label, _ in items
    )
    return f'<div class="legend">{spans}<span>p99 solid, p50 dashed</span></div>'


class _Axis:
    """Time (seconds since the start) to x pixels."""

    def __init__(self, t0: float, t1: float) -> None:
        self.t0, self.t1 = t0, max(t1, t0 + 60.0)

    def x(self, t: float) -> float:
        return LEFT + (t - self.t0) / (self.t1 - self.t0) * (WIDTH - LEFT - RIGHT)


def _chart(tl: dict[str, Any]) -> str:
    minutes = tl.get("minutes") or []
    t0 = minutes[0]["t"] if minutes else 0.0
    t1 = minutes[-1]["t"] + 60.0 if minutes else 60.0
    axis = _Axis(t0, t1)
    versions = {"old": tl.get("fromVersion"), "new": tl.get("toVersion")}
    parts: list[str] = []
    top = 10

    def panel(
        title: str,
        unit: str,
        series: Series,
        dashed: Series | None = None,
        ceiling: float | None = None,
    ) -> None:
        nonlocal top
        lines = {k: series(v) for k, v in versions.items() if v}
        extra = {k: dashed(v) for k, v in versions.items() if v} if dashed else {}
        values = [y for pts in [*lines.values(), *extra.values()] for _, y in pts if y is not None]
        high = ceiling if ceiling is not None else _nice(max(values, default=0.0))
        parts.append(_frame(axis, top, title, unit, high))
        for key, pts in lines.items():
            parts.append(_polyline(axis, top, high, pts, COLOURS[key], ""))
        for key, pts in extra.items():
            parts.append(_polyline(axis, top, high, pts, COLOURS[key], "4 3"))
        top += PANEL + GAP

    def weight(version: str) -> list[tuple[float, float | None]]:
        points: list[tuple[float, float | None]] = []
        for m in minutes:
            share = float(m["weights"].get(version, 0.0)) * 100
            points += [(m["t"], share), (m["t"] + 60.0, share)]
        return points

    def figure(name: str, scale: float) -> Series:
        def points(version: str) -> list[tuple[float, float | None]]:
            out: list[tuple[float, float | None]] = []
            for m in minutes:
                value = (m["versions"].get(version) or {}).get(name)
                out.append((m["t"] + 30.0, None if value is None else value * scale))
            return out

        return points

    panel("Traffic weight", "% of requests", weight, ceiling=100.0)
    panel("Error rate", "% of requests", figure("errorRate", 100.0))
    panel("Latency", "ms (p99, p50)", figure("p99Ms", 1.0), dashed=figure("p50Ms", 1.0))
    parts.append(_marks(axis, top, tl.get("ticks") or []))
    bottom = top + MARKS
    parts.append(_time_axis(axis, bottom, minutes))
    parts.extend(_verticals(axis, bottom, tl))
    height = bottom + 40
    return (
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="deployment timeline">' + "".join(parts) + "</svg>"
    )


def _nice(value: float) -> float:
    """A round ceiling for a y axis (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    step = 10 ** int(f"{value:e}".split("e")[1])
    for factor in (1, 2, 5, 10):
        if value <= factor * step:
            return float(factor * step)
    return float(10 * step)


def _frame(axis: _Axis, top: float, title: str, unit: str, high: float) -> str:
    bottom = top + PANEL
    out = [f'<text class="title" x="{LEFT}" y="{top + 2}">{escape(title)}</text>']
    out.append(f'<text x="{WIDTH - RIGHT}" y="{top + 2}" text-anchor="end">{escape(unit)}</text>')
    for i in range(5):
        y = bottom - i * (PANEL - 14) / 4
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{high * i / 4:g}</text>'
        )
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{top + 14}" y2="{bottom}"/>')
    return "".join(out)


def _polyline(
    axis: _Axis,
    top: float,
    high: float,
    points: Sequence[tuple[float, float | None]],
    colour: str,
    dash: str,
) -> str:
    """One line per run of known values (a minute without requests breaks it)."""
    out, run = [], []
    for t, value in [*points, (0.0, None)]:
        if value is None:
            if len(run) == 1:
                x, y = run[0]
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
            elif run:
                coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                style = f' stroke-dasharray="{dash}"' if dash else ""
                out.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2"{style} '
                    f'points="{coords}"/>'
                )
            run = []
            continue
        y = top + PANEL - min(value, high) / high * (PANEL - 14)
        run.append((axis.x(t), y))
    return "".join(out)


def _marks(axis: _Axis, top: float, ticks: list[dict[str, Any]]) -> str:
    out = [f'<text class="title" x="{LEFT}" y="{top + 2}">Verdicts</text>']
    y = top + 20
    out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>')
    for tick in ticks:
        if tick.get("t") is None:
            continue
        colour = VERDICT_COLOURS.get(str(tick.get("verdict")), "#555")
        gates = ", ".join(f"{g['gate']} {g['verdict']}" for g in tick.get("gates") or [])
        label = f"t+{tick['t']:g} s: {tick.get('verdict')} ({gates})"
        out.append(
            f'<circle class="tick {escape(str(tick.get("verdict")))}" cx="{axis.x(tick["t"]):.1f}" '
            f'cy="{y}" r="5" fill="{colour}"><title>{escape(label)}</title></circle>'
        )
    return "".join(out)


def _time_axis(axis: _Axis, y: float, minutes: list[dict[str, Any]]) -> str:
    out = [f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>']
    every = max(1, len(minutes) // 12)
    for index, m in enumerate(minutes):
        if index % every:
            continue
        x = axis.x(m["t"])
        out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 4}"/>')
        label = f"{m['at'][11:16]}"
        out.append(f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle">{label}</text>')
    out.append(
        f'<text x="{WIDTH - RIGHT}" y="{y + 32}" text-anchor="end">time (UTC); '
        "t = 0 at the execution's start</text>"
    )
    return "".join(out)


def _verticals(axis: _Axis, bottom: float, tl: dict[str, Any]) -> list[str]:
    out = []
    start = axis.x(0.0)
    out.append(
        f'<line x1="{start:.1f}" x2="{start:.1f}" y1="14" y2="{bottom}" stroke="#999" '
        'stroke-dasharray="2 3"/>'
    )
    out.append(f'<text x="{start + 3:.1f}" y="{bottom - 4}">start</text>')
    for act in tl.get("actions") or []:
        x = axis.x(act["t"])
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="14" y2="{bottom}" stroke="#7b3fa0" '
            f'stroke-dasharray="6 3"><title>{escape(act["detail"])}</title></line>'
        )
        out.append(
            f'<text x="{x + 3:.1f}" y="{bottom - 16}" fill="#7b3fa0">{escape(act["action"])}</text>'
        )
    decision = tl.get("decision") or {}
    if decision.get("t") is not None:
        x = axis.x(decision["t"])
        colour = OUTCOME_COLOURS.get(str(decision.get("outcome")), "#8a6d00")
        out.append(
            f'<line id="decision" x1="{x:.1f}" x2="{x:.1f}" y1="14" y2="{bottom}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        anchor = "end" if x > WIDTH * 0.7 else "start"
        dx = -4 if anchor == "end" else 4
        out.append(
            f'<text x="{x + dx:.1f}" y="26" text-anchor="{anchor}" fill="{colour}" '
            f'font-weight="600">Decision: {escape(str(decision.get("outcome")))} at '
            f"t+{decision['t']:g} s</text>"
        )
    return out


def _actions(tl: dict[str, Any]) -> str:
    acts = tl.get("actions") or []
    if not acts:
        return '<p class="meta">Operator actions: none.</p>'
    items = "".join(
        f"<li>t+{a['t']:g} s ({escape(a['at'])}): {escape(a['action'])}: {escape(a['detail'])}</li>"
        for a in acts
    )
    return f"<h2>Operator actions</h2><ul>{items}</ul>"


def _evidence(evidence: dict[str, Any]) -> str:
    return ", ".join(
        f"{escape(str(k))}={escape(_short(v))}" for k, v in evidence.items() if v is not None
    )


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def _table(tl: dict[str, Any]) -> str:
    ticks = tl.get("ticks") or []
    gates = sorted({g["gate"] for t in ticks for g in t.get("gates") or []})
    shown = ticks
    note = ""
    if len(ticks) > TABLE_ROWS:
        half = TABLE_ROWS // 2
        shown = ticks[:half] + ticks[-half:]
        note = f"<p class='meta'>{len(ticks) - TABLE_ROWS} ticks in the middle not shown.</p>"
    head = "".join(f"<th>{escape(g)}</th>" for g in gates)
    rows = []
    for tick in shown:
        by_gate = {g["gate"]: g for g in tick.get("gates") or []}
        cells = []
        for name in gates:
            g = by_gate.get(name)
            if g is None:
                cells.append("<td>-</td>")
                continue
            cells.append(
                f'<td class="{escape(str(g["verdict"]))}"><b>{escape(str(g["verdict"]))}</b> '
                f"{escape(str(g.get('reason') or ''))}<br><small>{_evidence(g['evidence'])}"
                "</small></td>"
            )
        step = "post-promotion" if tick.get("step") == -1 else f"{(tick.get('step') or 0) + 1}"
        weight = tick.get("weight")
        t = tick.get("t")
        rows.append(
            f"<tr><td>{'-' if t is None else f't+{t:g} s'}</td>"
            f"<td>{escape(step)} ({'-' if weight is None else f'{weight * 100:g}%'})</td>"
            f'<td class="{escape(str(tick.get("verdict")))}">{escape(str(tick.get("verdict")))}'
            f"</td><td>{escape(str(tick.get('action') or ''))}: "
            f"{escape(str(tick.get('reason') or ''))}</td>{''.join(cells)}</tr>"
        )
    return (
        "<h2>Gates' evidence</h2>"
        + note
        + '<table id="evidence"><thead><tr><th>time</th><th>step (weight)</th><th>verdict</th>'
        + f"<th>action</th>{head}</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
