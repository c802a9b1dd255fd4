"""``_report.html``: one self-contained page on where a finished job's time went.

Built from the ``_SUCCESS`` manifest alone, with inline SVG and CSS (no
script, no network): a timeline with a bar per task, one row per worker
slot and a colour per phase, and a time axis; bar charts of records and
bytes per reduce partition, each bar with its value, with a warning when the
largest partition is more than twice the median (skew); a link to the bad
records when there are any; phase durations; the counters; and the job's
config.
"""

from __future__ import annotations

import html
import json
import math
import statistics
from typing import Any, Iterable

PHASE_COLOURS = {"map": "#4e79a7", "shuffle": "#f28e2b", "reduce": "#59a14f"}
SKEW_FACTOR = 2.0
_WIDTH = 900
_ROW = 22


def render_report(manifest: dict[str, Any]) -> str:
    """The report page of a finished job, as one HTML string."""
    tasks = sorted(manifest.get("tasks", []), key=lambda t: (t["start"], t["task"]))
    partitions = [t for t in tasks if t["phase"] == "shuffle"]
    parts = [
        f"<h1>{_e(manifest['job_name'])}</h1>",
        f"<p class=summary>{_e(manifest.get('status', ''))} in {manifest['duration_s']:.2f} s &middot; job id "
        f"<code>{_e(manifest.get('job_id', ''))}</code> &middot; {len(manifest.get('inputs', []))} input file(s), "
        f"{sum(i['bytes'] for i in manifest.get('inputs', [])):,} bytes</p>",
        decode_note(manifest),
        bad_records_note(manifest),
        "<h2>Timeline</h2>",
        timeline_svg(tasks, manifest),
        "<h2>Reduce partitions</h2>",
        skew_note(partitions),
        bar_chart_svg("records per partition", [t.get("shuffle_output_records", 0) for t in _by_partition(partitions)], "records"),
        bar_chart_svg("bytes per partition", [t.get("shuffle_output_bytes", 0) for t in _by_partition(partitions)], "bytes"),
        "<h2>Phases</h2>",
        _table(["phase", "start (s)", "duration (s)", "tasks"], [
            [name, f"{span['start'] - manifest['start_time']:.2f}", f"{span['duration_s']:.2f}",
             str(sum(t["phase"] == name for t in tasks))]
            for name, span in sorted(manifest.get("phases", {}).items(), key=lambda kv: kv[1]["start"])
        ]),
        *_attempts_section(manifest),
        "<h2>Counters</h2>",
        _table(["group", "counter", "value"], [
            [group, name, f"{value:,}"]
            for group, names in sorted(manifest.get("counters", {}).items()) for name, value in sorted(names.items())
        ]),
        "<h2>Config</h2>",
        f"<pre>{_e(json.dumps(manifest.get('config', {}), indent=2, sort_keys=True))}</pre>",
    ]
    return _PAGE.format(title=_e(f"{manifest['job_name']}: job report"), body="\n".join(parts))


def _attempts_section(manifest: dict[str, Any]) -> list[str]:
    """A table of the task attempts that failed or were killed, when there were any."""
    failed = manifest.get("attempts", {}).get("unsuccessful", [])
    if not failed:
        return []
    return ["<h2>Retried attempts</h2>", _table(["task", "attempt", "host", "error"], [
        [f["task"], str(f["attempt"]), f.get("host", ""), f["error"]] for f in failed
    ])]


def timeline_svg(tasks: list[dict[str, Any]], manifest: dict[str, Any]) -> str:
    """One bar per task, coloured by phase, one row per worker slot.

    Luigi runs each task in a process of its own, so rows are the worker's
    slots: a task takes the first row free when it starts, and the number of
    rows is the job's real parallelism. The pid is in each bar's tooltip.
    """
    start = manifest["start_time"]
    span = max((t["end"] for t in tasks), default=start) - start or 1.0
    slots = worker_slots(tasks)
    height = _ROW * max(1, max(slots, default=0) + 1) + 30
    bars = []
    for t, slot in zip(tasks, slots):
        x = 70 + (t["start"] - start) / span * (_WIDTH - 80)
        width = max(1.0, (t["end"] - t["start"]) / span * (_WIDTH - 80))
        y = 5 + slot * _ROW
        bars.append(
            f'<rect class="task {t["phase"]}" data-task="{_e(t["task"])}" x="{x:.1f}" y="{y}" width="{width:.1f}" '
            f'height="{_ROW - 6}" fill="{PHASE_COLOURS.get(t["phase"], "#999")}">'
            f'<title>{_e(t["task"])}: {t["duration_s"]:.2f} s (pid {t.get("pid", "?")})</title></rect>'
        )
    labels = [f'<text x="0" y="{5 + i * _ROW + 12}">worker {i + 1}</text>' for i in range(max(slots, default=-1) + 1)]
    axis = time_axis(span, height)
    legend = " ".join(f'<span class=key style="background:{c}"></span>{p}' for p, c in PHASE_COLOURS.items())
    return (f'<svg class="timeline" width="{_WIDTH}" height="{height}" role="img" aria-label="task timeline">'
            f'{"".join(labels)}{"".join(bars)}{axis}</svg><p class=legend>{legend}</p>')


def time_axis(span: float, height: int) -> str:
    """Ticks along the timeline every 1, 2 or 5 times a power of ten seconds (at most 10 of them), with their times."""
    step = tick_step(span)
    marks = []
    for i in range(int(span / step + 1e-9) + 1):
        seconds = i * step
        x = 70 + seconds / span * (_WIDTH - 80)
        marks.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height - 18}" stroke="#ddd"/>'
                     f'<text class="tick" x="{x:.1f}" y="{height - 5}" text-anchor="middle">{seconds:g} s</text>')
    return "".join(marks)


def tick_step(span: float) -> float:
    """The tick interval for a timeline of ``span`` seconds: the smallest of 1, 2 or 5 times a power of ten giving at most 10 ticks."""
    power = 10.0 ** math.floor(math.log10(span)) if span > 0 else 1.0
    for factor in (0.1, 0.2, 0.5, 1, 2, 5, 10):
        if span / (power * factor) <= 10 + 1e-9:
            return float(f"{power * factor:.10g}")
    return power * 10


def worker_slots(tasks: list[dict[str, Any]]) -> list[int]:
    """The row of each task (sorted by start): the first row whose last task has ended."""
    ends: list[float] = []
    slots = []
    for t in tasks:
        free = next((i for i, end in enumerate(ends) if end <= t["start"] + 1e-3), None)
        if free is None:
            free = len(ends)
            ends.append(t["end"])
        else:
            ends[free] = t["end"]
        slots.append(free)
    return slots


def bar_chart_svg(title: str, values: list[int], unit: str) -> str:
    """Vertical bars, one per partition, with the value on each."""
    top = max(values, default=0) or 1
    width = max(40, min(60, (_WIDTH - 40) // max(1, len(values))))  # wide enough for the value above each bar
    bars = []
    for i, value in enumerate(values):
        h = value / top * 120
        x = 30 + i * width
        bars.append(
            f'<rect class="partition" data-partition="{i}" x="{x}" y="{140 - h:.1f}" width="{width - 8}" height="{h:.1f}" fill="#76b7b2">'
            f"<title>partition {i}: {value:,} {unit}</title></rect>"
            f'<text class="value" x="{x + (width - 8) / 2}" y="{136 - h:.1f}" text-anchor="middle">{short_number(value, unit)}</text>'
            f'<text x="{x + (width - 8) / 2}" y="158" text-anchor="middle">{i}</text>'
        )
    return (f'<figure><figcaption>{_e(title)}</figcaption><svg class="bars" width="{30 + width * max(1, len(values))}" '
            f'height="165" role="img" aria-label="{_e(title)}">{"".join(bars)}</svg></figure>')


def decode_note(manifest: dict[str, Any]) -> str:
    """A warning when input lines held bytes that were replaced (``decode_errors = "replace"``)."""
    errors = manifest.get("decode_errors") or {}
    if not errors.get("lines"):
        return ""
    return (f'<p class="warning decode">Decoding: {errors["lines"]:,} input line(s) held bytes that are not valid '
            f'{_e(errors["encoding"])} and were {"read as Latin-1" if errors.get("mode") == "latin-1" else "replaced by U+FFFD"}; the first at <code>{_e(str(errors["first"]))}</code>. '
            'Set the input&#x27;s <code>encoding</code>, or <code>decode_errors = "strict"</code> to skip such lines '
            "as bad records.</p>")


def bad_records_note(manifest: dict[str, Any]) -> str:
    """How many records were set aside as bad, with a link to them ("" if none)."""
    total = manifest.get("bad_records", {}).get("total", 0)
    if not total:
        return ""
    return (f'<p class="warning bad-records">{total:,} bad record(s) were set aside: see '
            f'<a href="_bad_records/">_bad_records/</a> (a JSON line each: file, line, reason, error, text).</p>')


def skew_note(shuffles: list[dict[str, Any]]) -> str:
    """A warning when the largest partition holds more than twice the median's records."""
    sizes = [t.get("shuffle_output_records", 0) for t in _by_partition(shuffles)]
    if len(sizes) < 2:
        return ""
    median, largest = statistics.median(sizes), max(sizes)
    if largest <= SKEW_FACTOR * median:
        return ""
    return (f'<p class="warning skew">Skew: partition {sizes.index(largest)} holds {largest:,} records, more than '
            f"{SKEW_FACTOR:g}x the median ({median:,.0f}). A few keys may dominate; a custom partitioner or a combiner "
            "can spread them.</p>")


def short_number(value: int, unit: str) -> str:
    """A bar's value in a few characters: ``950``, ``12.3k``, ``4.5M`` records; ``812 B``, ``3.1 MB`` for bytes."""
    if unit == "bytes":
        for size, suffix in ((1e9, " GB"), (1e6, " MB"), (1e3, " kB")):
            if value >= size:
                return f"{value / size:.3g}{suffix}"
        return f"{value} B"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return str(value)


def _by_partition(shuffles: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(shuffles, key=lambda t: int(t["task"].rsplit(" ", 1)[-1].split("/")[0]))


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
h1 {{ margin-bottom: 0; }} h2 {{ margin-top: 1.6em; border-bottom: 1px solid #ddd; }}
svg text {{ font-size: 11px; fill: #444; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ddd; padding: 2px 8px; text-align: left; }}
.key {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }}
.warning {{ background: #fff3cd; border: 1px solid #e0b000; padding: 6px 10px; }}
pre {{ background: #f6f6f6; padding: 8px; overflow: auto; }}
</style></head>
<body>
{body}
</body></html>
"""
