"""User activity: per user, how many events of each type, when, and how much.

Reads JSON lines of events and writes ``final_output.txt`` with one JSON line
per user, sorted by user (numbers before strings)::

    {"user": "alice", "total_events": 3, "events_by_type": {"PushEvent": 2, "WatchEvent": 1},
     "first_seen": "2021-07-21T06:00:01Z", "last_seen": "2021-07-21T08:59:59Z", "sums": {"payload.size": 4}}

Which fields hold the user, the event type, the timestamp and the numbers to
sum are ``params`` of the job config; dotted paths reach into nested objects
(``actor.login``). With ``events_field``, a line holds an array of events
(``{"session": 7, "events": [...]}``): the user comes from the line, the
other fields from each event. Timestamps are ISO-8601 strings or epoch
seconds or milliseconds (``timestamp_unit``: ``iso``, ``s``, ``ms`` or
``auto``). A line that is not JSON, or lacks the user or a valid timestamp,
is a bad record (see ``_bad_records/``).

    luigi --module pipelines.user_activity UserActivity --local-scheduler
    luigi --module pipelines.user_activity UserActivity --config configs/user_sessions.toml --local-scheduler
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from mr_luigi import BadRecord, ConfigError, ConfigFileJob, JobConfig, job_params

#: (events, {type: events}, first ms, last ms, {field: sum})
Activity = tuple[int, dict[str, int], float, float, dict[str, float]]

DEFAULT_PARAMS = {
    "user_field": "actor.login",
    "type_field": "type",
    "timestamp_field": "created_at",
    "timestamp_unit": "auto",
    "sum_fields": [],
    "events_field": "",
}
_MISSING = object()


def field(record: Any, path: str) -> Any:
    """The value at a dotted path (``actor.login``), or a marker when absent."""
    value = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def epoch_ms(value: Any, unit: str) -> float:
    """A timestamp as epoch milliseconds, or BadRecord."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if unit == "iso":
            raise BadRecord("bad_timestamp", f"expected an ISO-8601 string, got {value!r}")
        if unit == "ms" or (unit == "auto" and abs(value) >= 1e11):  # 1e11 s is the year 5138
            return float(value)
        return float(value) * 1000.0
    if isinstance(value, str) and unit in ("iso", "auto"):
        text = value.strip()
        try:
            stamp = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise BadRecord("bad_timestamp", f"not an ISO-8601 timestamp: {value!r}") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return stamp.timestamp() * 1000.0
    raise BadRecord("bad_timestamp", f"expected a timestamp ({unit}), got {value!r}")


def iso(ms: float) -> str:
    stamp = datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)
    text = stamp.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return text.replace("+00:00", "Z")


def user_key(user: Any) -> tuple[int, Any]:
    """Users sort numbers first, then strings; other JSON values as their JSON text."""
    if isinstance(user, (int, float)) and not isinstance(user, bool):
        return (0, user)
    return (1, user if isinstance(user, str) else json.dumps(user, sort_keys=True))


_settings: tuple[Any, Mapping[str, Any]] = (None, DEFAULT_PARAMS)


def settings() -> Mapping[str, Any]:
    """The job's params over the defaults (merged once per task, not per line)."""
    global _settings
    params = job_params()
    if _settings[0] is not params:
        _settings = (params, {**DEFAULT_PARAMS, **params})
    return _settings[1]


def check_params(params: Mapping[str, Any]) -> None:
    """Reject unknown or ill-typed params before any task runs."""
    for name in params:
        if name not in DEFAULT_PARAMS:
            raise ConfigError(f"params.{name}", f"unknown; known params: {', '.join(DEFAULT_PARAMS)}")
    merged = {**DEFAULT_PARAMS, **params}
    for name in ("user_field", "type_field", "timestamp_field", "events_field"):
        if not isinstance(merged[name], str):
            raise ConfigError(f"params.{name}", f"expected a dotted field path, got {merged[name]!r}")
    if merged["timestamp_unit"] not in ("iso", "s", "ms", "auto"):
        raise ConfigError("params.timestamp_unit", f"expected iso, s, ms or auto, got {merged['timestamp_unit']!r}")
    if not isinstance(merged["sum_fields"], list) or not all(isinstance(f, str) for f in merged["sum_fields"]):
        raise ConfigError("params.sum_fields", f"expected a list of field paths, got {merged['sum_fields']!r}")


def activity_map(line: str) -> list[tuple[tuple[int, Any], Activity]]:
    """One JSON line -> one (user, activity) pair per event it holds."""
    p = settings()
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise BadRecord("invalid_json", str(exc)) from None
    user = field(record, p["user_field"])
    if user is _MISSING or user is None:
        raise BadRecord("missing_user", f"no {p['user_field']!r} field")
    if p["events_field"]:
        events = field(record, p["events_field"])
        if not isinstance(events, list):
            raise BadRecord("events_not_a_list", f"{p['events_field']!r} is not an array")
    else:
        events = [record]
    key = user_key(user)
    return [(key, _event_activity(event, p)) for event in events]


def _event_activity(event: Any, p: Mapping[str, Any]) -> Activity:
    kind = field(event, p["type_field"])
    kind = "(none)" if kind is _MISSING or kind is None else str(kind)
    stamp = field(event, p["timestamp_field"])
    if stamp is _MISSING:
        raise BadRecord("missing_timestamp", f"no {p['timestamp_field']!r} field")
    ms = epoch_ms(stamp, p["timestamp_unit"])
    sums = {}
    for name in p["sum_fields"]:
        value = field(event, name)
        if value is _MISSING or value is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise BadRecord("not_a_number", f"{name!r} is {value!r}")
        sums[name] = value
    return 1, {kind: 1}, ms, ms, sums


def activity_combine(key: Any, values: Iterable[Activity]) -> Activity:
    """Merge partial activities: counts and sums add up, first/last take min/max."""
    events, by_type, first, last, sums = 0, {}, float("inf"), float("-inf"), {}
    for n, types, lo, hi, totals in values:
        events += n
        for kind, count in types.items():
            by_type[kind] = by_type.get(kind, 0) + count
        first, last = min(first, lo), max(last, hi)
        for name, value in totals.items():
            sums[name] = sums.get(name, 0) + value
    return events, by_type, first, last, sums


def activity_reduce(key: tuple[int, Any], values: Iterable[Activity]) -> dict[str, Any]:
    events, by_type, first, last, sums = activity_combine(key, values)
    return {
        "user": key[1],
        "total_events": events,
        "events_by_type": dict(sorted(by_type.items())),
        "first_seen": iso(first),
        "last_seen": iso(last),
        "sums": {name: sums.get(name, 0) for name in settings()["sum_fields"]},
    }


class UserActivity(ConfigFileJob):
    """Per-user event counts, first and last activity and sums, one JSON line per user."""

    defaults = {
        "job_name": "user_activity",
        "map_function": activity_map,
        "reduce_function": activity_reduce,
        "combine_function": activity_combine,
        "output_format": "jsonl",
        "params": dict(DEFAULT_PARAMS),
    }
    default_config_file = Path(__file__).resolve().parent.parent / "configs" / "user_activity.toml"

    def job_config(self) -> JobConfig:
        config = super().job_config()
        check_params(config.params)
        return config
