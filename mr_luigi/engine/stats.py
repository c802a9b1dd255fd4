"""The statistics a task leaves beside its outputs (``stats.json``), and the job's bad-record check over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mr_luigi.engine.counters import BAD_RECORDS_GROUP, sum_counters
from mr_luigi.engine.plan import JobPlan
from mr_luigi.engine.quarantine import BadRecordLimit, too_many_message
from mr_luigi.errors import TooManyBadRecords

STATS_FILE = "stats.json"


def write_stats(folder: Path, stats: dict[str, Any]) -> None:
    (folder / STATS_FILE).write_text(json.dumps(stats, sort_keys=True))


def read_stats(folder: Path) -> dict[str, Any]:
    return json.loads((folder / STATS_FILE).read_text())


def check_bad_records(plan: JobPlan, task_stats: list[dict[str, Any]]) -> dict[str, int]:
    """Fail the job if its tasks rejected more records than ``max_bad_records`` allows.

    The barrier checks the maps' bad records before any merging; the final
    step checks them with the reduces' before publishing anything.
    """
    limit = BadRecordLimit.from_config(plan.config.max_bad_records)
    bad = sum(s.get("bad_records", 0) for s in task_stats)
    total = sum(s.get("input_records", 0) for s in task_stats)
    if bad and limit.exceeded(bad, total):
        by_reason = sum_counters(s["counters"] for s in task_stats).get(BAD_RECORDS_GROUP, {})
        raise TooManyBadRecords(too_many_message(by_reason, total, limit, plan.quarantine_dir))
    return {"bad_records": bad, "input_records": total}
