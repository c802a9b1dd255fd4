"""UserActivity on messy JSON lines, against aggregates computed here."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import luigi
import pytest

from mr_luigi import ConfigError
from pipelines.user_activity import UserActivity


def github_lines(rng: random.Random, count: int = 600) -> list[str]:
    lines = []
    for i in range(count):
        login = rng.choice(["alice", "bob", "Zoë", "dependabot[bot]", "user-🐍"])
        second = rng.randint(0, 10_000)
        event = {
            "type": rng.choice(["PushEvent", "WatchEvent", "IssuesEvent"]),
            "actor": {"login": login, "id": hash(login) % 1000},
            "payload": {"size": rng.randint(0, 9), "body": "x" * (40_000 if i % 97 == 0 else 10) + " 🚀 naïve"},
            "created_at": f"2021-07-21T{6 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z",
        }
        if i % 50 == 3:
            del event["payload"]["size"]  # a missing number is not summed
        line = json.dumps(event, ensure_ascii=False)
        if i % 151 == 5:
            line = line[: len(line) // 2]  # truncated JSON
        elif i % 173 == 9:
            line = json.dumps({"type": "PushEvent", "created_at": "2021-07-21T06:00:00Z"})  # no actor
        lines.append(line)
    return lines


def expected_github(lines: list[str]) -> tuple[dict, int]:
    users: dict = defaultdict(lambda: {"n": 0, "types": Counter(), "times": [], "size": 0})
    bad = 0
    for line in lines:
        try:
            event = json.loads(line)
            login = event["actor"]["login"]
        except (ValueError, KeyError):
            bad += 1
            continue
        u = users[login]
        u["n"] += 1
        u["types"][event["type"]] += 1
        u["times"].append(event["created_at"])
        u["size"] += event["payload"].get("size", 0)
    return users, bad


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(tmp_path: Path, toml: str, name: str = "out") -> list[dict]:
    config = tmp_path / f"{name}.toml"
    config.write_text(toml)
    out = tmp_path / name
    result = luigi.build([UserActivity(config=str(config), output_dir=str(out))], local_scheduler=True, workers=2,
                         detailed_summary=True, log_level="WARNING")
    assert result.status.name == "SUCCESS", result.summary_text
    return [json.loads(line) for line in (out / "final_output.txt").read_text(encoding="utf-8").splitlines()]


def test_github_events_per_user(tmp_path):
    lines = github_lines(random.Random(3))
    path = write(tmp_path / "in" / "events.jsonl", lines)
    rows = run(tmp_path, f"""input_files = ["{path}"]
split_size_mb = 0.1
max_bad_records = 0.05
[params]
user_field = "actor.login"
type_field = "type"
timestamp_field = "created_at"
sum_fields = ["payload.size"]
""")
    users, bad = expected_github(lines)
    assert [r["user"] for r in rows] == sorted(users)
    for row in rows:
        u = users[row["user"]]
        assert row["total_events"] == u["n"]
        assert row["events_by_type"] == dict(u["types"])
        assert row["first_seen"] == min(u["times"]) and row["last_seen"] == max(u["times"])
        assert row["sums"] == {"payload.size": u["size"]}
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    assert manifest["bad_records"]["total"] == bad > 0
    assert set(manifest["counters"]["bad_records"]) == {"invalid_json", "missing_user"}


def test_sessions_with_arrays_of_events_and_epoch_milliseconds(tmp_path):
    rng = random.Random(4)
    sessions = []
    for _ in range(60):
        ts = 1_659_304_800_000 + rng.randint(0, 10**9)
        events = [{"aid": i, "ts": ts + rng.randint(0, 10**7), "type": rng.choice(["clicks", "carts", "orders"])}
                  for i in range(rng.randint(1, 30))]
        sessions.append({"session": rng.choice([3, 12899769, 7, 100]), "events": events})
    path = write(tmp_path / "in" / "sessions.jsonl", [json.dumps(s) for s in sessions])
    rows = run(tmp_path, f"""input_files = ["{path}"]
[params]
user_field = "session"
events_field = "events"
type_field = "type"
timestamp_field = "ts"
timestamp_unit = "ms"
""")
    merged: dict = defaultdict(list)
    for s in sessions:
        merged[s["session"]] += s["events"]
    assert [r["user"] for r in rows] == sorted(merged), "numeric users sort as numbers"

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    for row in rows:
        events = merged[row["user"]]
        assert row["total_events"] == len(events)
        assert row["events_by_type"] == dict(Counter(e["type"] for e in events))
        first, last = min(e["ts"] for e in events), max(e["ts"] for e in events)
        assert row["first_seen"] in (iso(first), iso(first).replace(".000Z", "Z"))
        assert row["last_seen"] in (iso(last), iso(last).replace(".000Z", "Z"))


@pytest.mark.parametrize("stamp, unit", [(1626847200, "s"), (1626847200000, "ms"), (1626847200, "auto"), (1626847200000, "auto"),
                                         ("2021-07-21T06:00:00Z", "iso"), ("2021-07-21T08:00:00+02:00", "auto"),
                                         ("2021-07-21T06:00:00", "auto")])
def test_timestamp_forms_give_the_same_instant(tmp_path, stamp, unit):
    path = write(tmp_path / "in.jsonl", [json.dumps({"u": "a", "t": stamp, "k": "x"})])
    rows = run(tmp_path, f"""input_files = ["{path}"]
max_bad_records = 0
[params]
user_field = "u"
type_field = "k"
timestamp_field = "t"
timestamp_unit = "{unit}"
""")
    assert rows == [{"user": "a", "total_events": 1, "events_by_type": {"x": 1}, "first_seen": "2021-07-21T06:00:00Z",
                     "last_seen": "2021-07-21T06:00:00Z", "sums": {}}]


def test_unknown_params_are_config_errors(tmp_path):
    path = write(tmp_path / "in.jsonl", ['{"u": 1}'])
    config = tmp_path / "bad.toml"
    config.write_text(f'input_files = ["{path}"]\n[params]\nuser_feild = "u"\n')
    with pytest.raises(ConfigError, match="params.user_feild"):
        UserActivity(config=str(config), output_dir=str(tmp_path / "out")).complete()  # asked first by Luigi


@pytest.mark.parametrize("value, expected_ms", [(10**11, 10**11), (10**11 - 1, (10**11 - 1) * 1000), (-(10**11), -(10**11)), (0, 0)])
def test_auto_timestamps_from_1e11_on_are_milliseconds(value, expected_ms):
    """The boundary README gives: a number of 1e11 or more (in size) is milliseconds, less is seconds."""
    from pipelines.user_activity import epoch_ms

    assert epoch_ms(value, "auto") == expected_ms
