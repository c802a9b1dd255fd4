"""LogAnalysis on access logs with what real ones hold, against a computation written here."""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import random
import re
from collections import Counter
from pathlib import Path

import luigi
import pytest

from pipelines.log_analysis import LogAnalysis
from tests.conftest import read_tsv

# The reference parser: written here, not imported from the pipeline.
REFERENCE = re.compile(r'^(\d{1,3}(?:\.\d{1,3}){3}) \S+ \S+ \[[^\]]+\] "(?:\\.|[^"\\])*" (\d{3}) (\d+|-)( "(?:\\.|[^"\\])*" "(?:\\.|[^"\\])*")?$')
LONG_AGENT = "Mozilla/5.0 " + "(compatible; x) " * 80
TRUNCATED = [  # the shapes of the real log's broken lines
    '46.161.41.24 - - [18/May/2015:19:05:46 +0000]"',
    '63.140.98.80 - - [20/May/2015:21:05:03 +0000])"',
    '46.118.127.106 - - [20/May/2015:12:05:26 +0000] (X11; U; ) - BrowseX (2.0.0 Windows)"',
    "\x16\x03\x01\x02\x00\x01",
    "",
]


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


#: a line with an unclosed request: bad, though with its \" taken as the end of the request it would parse
ENDS_IN_AN_ESCAPE = '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /a\\" 200 5'


def make_log(rng: random.Random, lines: int = 3000) -> list[str]:
    """Access-log lines; the first half without escaped quotes but for two lines, the second half with them."""
    ips = ["10.0.0.1", "10.0.0.2", "10.0.0.10", "192.168.1.5", "8.8.8.8", "1.2.3.4"] + [f"172.16.{i}.{i}" for i in range(40)]
    out = []
    for i in range(lines):
        plain = i < lines // 2
        if i % 211 == 7:
            out.append(rng.choice(TRUNCATED))
            continue
        if i in (lines // 8, lines // 4):
            out.append(ENDS_IN_AN_ESCAPE)
            continue
        ip = rng.choice(ips[:6]) if rng.random() < 0.6 else rng.choice(ips)
        # the boundaries of "an error" (4xx and 5xx) each appear: 399 is not one, 400 and 599 are
        status = rng.choice([200, 200, 200, 304, 404, 500, 301, 403, 399, 400, 499, 599, 100])
        size = "-" if status in (304, 301) or rng.random() < 0.05 else str(rng.randint(0, 99999))
        if rng.random() < 0.02:  # digits of another script: the status is still the number they spell
            status = str(status).translate(ARABIC_INDIC)
        request = rng.choice(['GET / HTTP/1.1', 'GET /a\\b HTTP/1.1' if plain else 'GET /a\\"b HTTP/1.1', 'POST /login HTTP/1.0'])
        stamp = "[17/May/2015:10:05:03 +0000]"
        if rng.random() < 0.3:  # common format: no referer or agent
            out.append(f'{ip} - - {stamp} "{request}" {status} {size}')
        else:
            agent = LONG_AGENT if rng.random() < 0.05 else 'curl/7.38 (x)' if plain else 'curl/7.38 \\"quoted\\"'
            referer = "http://x.y/?q=z" if plain else 'http://x.y/?q=\\"z\\"'
            out.append(f'{ip} - frank {stamp} "{request}" {status} {size} "{referer}" "{agent}"')
    return out


def reference(lines: list[str]) -> dict:
    per_ip, per_status, errors, size, bad = Counter(), Counter(), Counter(), Counter(), []
    for number, line in enumerate(lines, 1):
        match = REFERENCE.match(line)
        if not match:
            bad.append(number)
            continue
        ip, status, nbytes = match.group(1), int(match.group(2)), match.group(3)
        per_ip[ip] += 1
        per_status[status] += 1
        errors[ip] += status >= 400
        size[ip] += 0 if nbytes == "-" else int(nbytes)
    return {"per_ip": per_ip, "per_status": per_status, "errors": errors, "bytes": size, "bad": bad}


def run(inputs: str, out: Path, config: Path | None = None, workers: int = 2) -> None:
    params = {"input_path": inputs, "output_dir": str(out)}
    if config is not None:
        params["config"] = str(config)
    result = luigi.build([LogAnalysis(**params)], local_scheduler=True, workers=workers, detailed_summary=True, log_level="WARNING")
    assert result.status.name == "SUCCESS", result.summary_text


@pytest.fixture
def log_file(tmp_path) -> tuple[Path, list[str]]:
    lines = make_log(random.Random(5))
    path = tmp_path / "logs" / "access.log"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, lines


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


PER_LINE = 'map_function = "pipelines.log_analysis:log_stats_map"\ncombine_function = "pipelines.log_analysis:log_stats_combine"\n'


@pytest.mark.parametrize("functions", ["", PER_LINE], ids=["batch map, summed by name", "per-line map and combiner"])
def test_every_result_matches_the_reference(tmp_path, log_file, functions):
    path, lines = log_file
    config = tmp_path / "job.toml"
    config.write_text(f"split_size_mb = 0.05\nmax_bad_records = 0.05\n{functions}[params]\ntop_n = 4\n")
    logger, seen = logging.getLogger("luigi-interface.mr_luigi"), Lines()
    logger.addHandler(seen)
    level = logger.level
    logger.setLevel(logging.INFO)  # not `logger.level = ...`: that keeps the answer an earlier test cached for INFO
    try:
        run(str(path), tmp_path / "out", config, workers=1)  # the job's last task logs in this process
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
    last = [line for line in seen.lines if "succeeded" in line][-1]
    assert re.fullmatch(rf"Job LogAnalysis succeeded in [\d.]+s \(2 steps\): {len(lines):,} input records -> "
                        rf"{re.escape(str(tmp_path / 'out'))}: requests_per_ip.txt, status_codes.txt, ip_error_rates.txt, "
                        rf"top_ips.txt; \d+ bad records skipped \(see .*_bad_records\)", last), last
    ref, out = reference(lines), tmp_path / "out"
    assert [n for n, line in enumerate(lines, 1) if line == ENDS_IN_AN_ESCAPE] == [376, 751]
    assert {376, 751} <= set(ref["bad"])

    assert read_tsv(out / "requests_per_ip.txt") == [(ip, ref["per_ip"][ip]) for ip in sorted(ref["per_ip"])]
    assert read_tsv(out / "status_codes.txt") == [(s, ref["per_status"][s]) for s in sorted(ref["per_status"])]
    rates = dict(read_tsv(out / "ip_error_rates.txt"))
    assert set(rates) == set(ref["per_ip"])
    for ip, rate in rates.items():
        assert rate["requests"] == ref["per_ip"][ip] and rate["errors"] == ref["errors"][ip]
        assert rate["bytes"] == ref["bytes"][ip]
        assert rate["error_rate"] == pytest.approx(ref["errors"][ip] / ref["per_ip"][ip], abs=1e-6)
    ranked = sorted(ref["per_ip"].items(), key=lambda kv: (-kv[1], kv[0]))[:4]
    assert read_tsv(out / "top_ips.txt") == [(ip, n) for ip, n in ranked]

    bad = [json.loads(line) for p in sorted((out / "_bad_records").glob("*.jsonl")) for line in p.read_text().splitlines()]
    assert sorted(r["line"] for r in bad) == ref["bad"]
    assert {r["reason"] for r in bad} == {"unparsable_log_line"}
    manifest = json.loads((out / "_SUCCESS").read_text())
    stats_config = json.loads((out / "_steps" / "stats" / "_SUCCESS").read_text())["config"]
    assert stats_config["map_function"].endswith("log_stats_map" if functions else "log_stats_batch_map")
    assert manifest["counters"]["bad_records"] == {"unparsable_log_line": len(ref["bad"])}
    assert manifest["outputs"] == ["requests_per_ip.txt", "status_codes.txt", "ip_error_rates.txt", "top_ips.txt",
                                   "_bad_records", "_report.html"]
    # one report for the whole job: a bar for every task of both steps
    page = (out / "_report.html").read_text(encoding="utf-8")
    tasks = [t["task"] for step in ("stats", "top_ips") for t in
             json.loads((out / "_steps" / step / "_SUCCESS").read_text())["tasks"]]
    assert sorted(re.findall(r'data-task="([^"]+)"', page)) == sorted(tasks)
    assert {t.split()[0] for t in tasks} == {"log_analysis-stats", "log_analysis-top_ips"}
    assert f'{len(ref["bad"])} bad record(s) were set aside' in page
    # gathered by the multi-step job from its steps, named after the step that rejected them
    assert all(p.name.startswith("log_analysis-stats-map-") for p in (out / "_bad_records").iterdir())


def test_ties_in_the_top_list_are_broken_by_ip(tmp_path):
    lines = [f'{ip} - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5' for ip in ["9.9.9.9", "1.1.1.1", "5.5.5.5"] * 3]
    lines += ['7.7.7.7 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5'] * 4
    path = tmp_path / "ties.log"
    path.write_text("\n".join(lines) + "\n")
    config = tmp_path / "job.toml"
    config.write_text("[params]\ntop_n = 3\n")
    run(str(path), tmp_path / "out", config, workers=1)
    assert read_tsv(tmp_path / "out" / "top_ips.txt") == [("7.7.7.7", 4), ("1.1.1.1", 3), ("5.5.5.5", 3)]


@pytest.mark.parametrize("opener, suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2")])
def test_compressed_logs_give_the_same_results(tmp_path, log_file, opener, suffix):
    path, _ = log_file
    packed = tmp_path / "packed" / ("access.log" + suffix)
    packed.parent.mkdir()
    with opener(packed, "wb") as fh:
        fh.write(path.read_bytes())
    run(str(path), tmp_path / "plain")
    run(str(packed), tmp_path / "packed_out")
    for name in ("requests_per_ip.txt", "status_codes.txt", "ip_error_rates.txt", "top_ips.txt"):
        assert (tmp_path / "plain" / name).read_bytes() == (tmp_path / "packed_out" / name).read_bytes()
    lines = lambda out: sorted(json.loads(l)["line"] for p in (out / "_bad_records").glob("*.jsonl") for l in p.read_text().splitlines())  # noqa: E731
    assert lines(tmp_path / "plain") == lines(tmp_path / "packed_out")


def test_too_many_junk_lines_fail_the_job_with_the_counts(tmp_path, caplog):
    path = tmp_path / "junk.log"
    path.write_text("not a log line\n" * 50 + '1.1.1.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5\n')
    result = luigi.build([LogAnalysis(input_path=str(path), output_dir=str(tmp_path / "out"))], local_scheduler=True,
                         detailed_summary=True, log_level="ERROR")
    assert result.status.name == "FAILED"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and "too many bad records" in r.getMessage()]
    assert len(errors) == 1, errors
    assert re.search(r"too many bad records: 50 of 51 input records \(98\.04%\), over max_bad_records = 0\.05 \(5% of input records\); "
                     r"by reason: unparsable_log_line: 50\b", errors[0]), errors[0]
    assert not (tmp_path / "out" / "_SUCCESS").exists()
    (kept,) = (tmp_path / "out" / "_steps" / "stats" / "_work").glob("*/bad_records/map-00000.jsonl")
    assert [json.loads(line)["line"] for line in kept.read_text().splitlines()] == list(range(1, 51))
    assert not (tmp_path / "out" / "_steps" / "stats" / "_bad_records").exists(), "a failed job publishes nothing"


def test_mr_luigi_report_reads_a_multi_step_jobs_folder(tmp_path, log_file):
    """mr-luigi report on the folder a multi-step job publishes to: the job's outputs, then each step's summary."""
    import re
    import subprocess
    import sys

    path, lines = log_file
    run(str(path), tmp_path / "out")
    ran = subprocess.run([str(Path(sys.executable).parent / "mr-luigi"), "report", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    manifest = json.loads((tmp_path / "out" / "_SUCCESS").read_text())
    assert ran.stdout.startswith(f"Job LogAnalysis SUCCESS: 2 step(s); outputs in {tmp_path / 'out'}: "
                                 f"{', '.join(manifest['outputs'])}\n")
    steps = re.findall(r"^Step (\d): (\S+) \((\S+)\)$", ran.stdout, re.MULTILINE)
    assert steps == [(str(n), s["job_name"], s["job_id"]) for n, s in enumerate(manifest["steps"], 1)]
    assert ran.stdout.count("Counters:") == 2 and "Counters (all steps):" in ran.stdout
