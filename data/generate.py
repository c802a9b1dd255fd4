"""Deterministic generators for data sets larger than the bundled samples.

    python data/generate.py text --size-mb 100 --files 8 --out /tmp/mr_text
    python data/generate.py keys --size-mb 1000 --distinct 30000000 --out /tmp/mr_keys
    python data/generate.py logs --size-mb 100 --files 4 --out /tmp/mr_logs
    python data/generate.py events --size-mb 100 --files 4 --out /tmp/mr_events

Text has a Zipf-like word distribution over a fixed vocabulary (as real prose
does: a few words very common, most rare), mixed case, punctuation, CRLF on
some files and a byte-order mark on one. The same arguments and seed always
give the same bytes. Keys are lines of random tokens drawn from a large
space, for jobs with tens of millions of distinct keys. Logs are Apache
combined-format access logs with what real ones have: a few clients making
most requests, ``-`` byte fields, escaped quotes in user agents, and about
0.2% truncated or junk lines. Events are JSON lines in two shapes: GitHub-like
events (nested ``actor.login``, ISO timestamps, non-ASCII text and emoji) and
sessions holding arrays of events with epoch-millisecond timestamps.
Generated data is never committed.
"""

from __future__ import annotations

import argparse
import json
import random
from itertools import accumulate
from pathlib import Path
from typing import Callable

SYLLABLES = "ka lo mi ne ru sa ti vo we ya ze bo cu da fe gi ha ji".split()


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """``size`` distinct words of one to four syllables (at most 111,150 exist), a few real ones among them."""
    possible = sum(len(SYLLABLES) ** n for n in range(1, 5))
    if size > possible - 1000:  # drawing the last few of them at random would take forever
        raise ValueError(f"a vocabulary of {size:,} words: at most {possible - 1000:,} can be drawn from the syllables")
    words = {"the", "of", "and", "a", "to", "in", "whale's", "don't", "2024"}
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def generate_text(out: Path, size_mb: float, files: int = 8, vocab_size: int = 50_000, seed: int = 2701) -> list[Path]:
    """Write ``files`` text files totalling about ``size_mb`` MB; return their paths."""
    rng = random.Random(seed)
    vocab = vocabulary(vocab_size, rng)
    weights = list(accumulate(1.0 / (rank + 1) for rank in range(len(vocab))))
    out.mkdir(parents=True, exist_ok=True)
    per_file = int(size_mb * 1024 * 1024 / files)
    paths = []
    for i in range(files):
        path = out / f"text_{i:03d}.txt"
        newline = "\r\n" if i % 3 == 1 else "\n"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            written = 0
            if i == 0:
                fh.write("\ufeff")
            chunk_words = 2000 if per_file > 100_000 else 120  # small files stay small
            while written < per_file:
                words = rng.choices(vocab, cum_weights=weights, k=chunk_words)
                lines = []
                for start in range(0, chunk_words, 12):
                    line = " ".join(words[start:start + 12])
                    lines.append(line.capitalize() + ("." if start % 36 == 0 else ","))
                chunk = newline.join(lines) + newline
                fh.write(chunk)
                written += len(chunk)
        paths.append(path)
    return paths


def generate_keys(out: Path, size_mb: float, files: int = 8, distinct: int = 30_000_000, seed: int = 99) -> list[Path]:
    """Write lines of ten tokens ``k%07x`` drawn uniformly from ``distinct`` values."""
    rng = random.Random(seed)
    space = range(distinct)

    def chunk() -> str:
        tokens = [f"k{x:07x}" for x in rng.choices(space, k=10_000)]
        return "\n".join(" ".join(tokens[j:j + 10]) for j in range(0, 10_000, 10)) + "\n"

    return _write_files(out, [f"keys_{i:03d}.txt" for i in range(files)], size_mb, chunk)


def _write_files(out: Path, names: list[str], size_mb: float, chunk: Callable[[], str]) -> list[Path]:
    """Fill each named file with chunks until it holds its share of ``size_mb`` (in UTF-8 bytes)."""
    out.mkdir(parents=True, exist_ok=True)
    per_file = int(size_mb * 1024 * 1024 / len(names))
    paths = []
    for name in names:
        path = out / name
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            written = 0
            while written < per_file:
                text = chunk()
                fh.write(text)
                written += len(text.encode())
        paths.append(path)
    return paths


_METHODS = ["GET"] * 18 + ["POST", "HEAD"]
_PATHS = ["/", "/index.html", "/blog/", "/blog/tags/luigi", "/images/logo.png", "/feed.xml", "/search?q=map%20reduce",
          "/projects/mr_luigi/", "/favicon.ico", "/robots.txt", "/wp-login.php"]
_STATUSES = [200] * 40 + [304] * 6 + [301, 302, 404, 404, 404, 403, 500, 503]
_AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0 Safari/537.36',
           'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
           'curl/7.38.0', '-', 'Mozilla/5.0 (iPhone; CPU iPhone OS 8_3 like Mac OS X) \\"quoted\\" build']
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def log_lines(rng: random.Random, count: int, bad_share: float = 0.002) -> list[str]:
    """``count`` access-log lines, about ``bad_share`` of them truncated or junk."""
    clients = [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(2000)]
    weights = list(accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(len(clients))))
    lines = []
    for i in range(count):
        ip = rng.choices(clients, cum_weights=weights)[0]
        stamp = f"{rng.randint(1, 28):02d}/{rng.choice(_MONTHS)}/2015:{rng.randint(0, 23):02d}:05:{rng.randint(0, 59):02d} +0000"
        roll = rng.random()
        if roll < bad_share / 2:
            lines.append(f'{ip} - - [{stamp}] "' + rng.choice(['', ')"', 'GET /blog/']))  # truncated
            continue
        if roll < bad_share:
            lines.append(rng.choice(["-", "\x16\x03\x01", "GARBAGE LINE", ""]))  # junk
            continue
        status = rng.choice(_STATUSES)
        size = "-" if status in (304, 301) or rng.random() < 0.03 else str(rng.randint(100, 200_000))
        request = f"{rng.choice(_METHODS)} {rng.choice(_PATHS)} HTTP/1.1"
        lines.append(f'{ip} - - [{stamp}] "{request}" {status} {size} "-" "{rng.choice(_AGENTS)}"')
    return lines


def generate_logs(out: Path, size_mb: float, files: int = 4, seed: int = 1999) -> list[Path]:
    """Write ``files`` access logs totalling about ``size_mb`` MB."""
    rng = random.Random(seed)
    lines = min(2000, max(1, int(size_mb * 1024 * 1024 / files) // 150))
    return _write_files(out, [f"access_{i:03d}.log" for i in range(files)], size_mb,
                        lambda: "\n".join(log_lines(rng, lines)) + "\n")


_TYPES = ["PushEvent"] * 6 + ["WatchEvent", "IssuesEvent", "PullRequestEvent", "CreateEvent", "IssueCommentEvent"]
_TEXTS = ["fix: off-by-one", "Añadir soporte 🚀", "测试 merge", "ok 👍", "Update README.md", "naïve café"]


def event_lines(rng: random.Random, count: int, users: int = 500) -> list[str]:
    """GitHub-like events; about 0.2% broken (truncated JSON or no actor)."""
    lines = []
    for _ in range(count):
        user = f"user{rng.randint(1, users)}" + ("[bot]" if rng.random() < 0.02 else "")
        second = rng.randint(0, 3 * 3600 - 1)
        event = {
            "id": str(rng.getrandbits(40)),
            "type": rng.choice(_TYPES),
            "actor": {"id": rng.randint(1, 10**7), "login": user},
            "repo": {"name": f"org{rng.randint(1, 50)}/repo{rng.randint(1, 20)}"},
            "payload": {"size": rng.randint(1, 5), "title": rng.choice(_TEXTS), "duration": round(rng.random() * 10, 3)},
            "created_at": f"2021-07-21T{6 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z",
        }
        line = json.dumps(event, ensure_ascii=False)
        roll = rng.random()
        if roll < 0.001:
            line = line[: len(line) // 2]
        elif roll < 0.002:
            del event["actor"]
            line = json.dumps(event, ensure_ascii=False)
        lines.append(line)
    return lines


def session_lines(rng: random.Random, count: int) -> list[str]:
    """Sessions holding arrays of events with epoch-millisecond timestamps."""
    lines = []
    for _ in range(count):
        ts = 1_659_304_800_000 + rng.randint(0, 28 * 86_400_000)
        events = []
        for _ in range(rng.randint(1, 40)):
            ts += rng.randint(1_000, 600_000)
            events.append({"aid": rng.randint(1, 1_800_000), "ts": ts, "type": rng.choice(["clicks"] * 8 + ["carts", "orders"])})
        lines.append(json.dumps({"session": rng.randint(0, 10 * count), "events": events}))
    return lines


def generate_events(out: Path, size_mb: float, files: int = 4, seed: int = 2021, shape: str = "github") -> list[Path]:
    """Write ``files`` JSON-lines files of events totalling about ``size_mb`` MB."""
    rng = random.Random(seed)
    make = event_lines if shape == "github" else session_lines
    lines = min(500, max(1, int(size_mb * 1024 * 1024 / files) // 400))
    return _write_files(out, [f"{shape}_{i:03d}.jsonl" for i in range(files)], size_mb,
                        lambda: "\n".join(make(rng, lines)) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    text = sub.add_parser("text", help="prose-like text for word count")
    text.add_argument("--size-mb", type=float, default=100)
    text.add_argument("--files", type=int, default=8)
    text.add_argument("--seed", type=int, default=2701)
    text.add_argument("--out", type=Path, required=True)
    keys = sub.add_parser("keys", help="random tokens: a job with many distinct keys")
    keys.add_argument("--size-mb", type=float, default=100)
    keys.add_argument("--files", type=int, default=8)
    keys.add_argument("--distinct", type=int, default=30_000_000)
    keys.add_argument("--seed", type=int, default=99)
    keys.add_argument("--out", type=Path, required=True)
    logs = sub.add_parser("logs", help="Apache combined access logs, with some malformed lines")
    events = sub.add_parser("events", help="JSON lines of user events")
    events.add_argument("--shape", choices=["github", "sessions"], default="github")
    for kind, seed in ((logs, 1999), (events, 2021)):
        kind.add_argument("--size-mb", type=float, default=100)
        kind.add_argument("--files", type=int, default=4)
        kind.add_argument("--seed", type=int, default=seed)
        kind.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.kind == "logs":
        paths = generate_logs(args.out, args.size_mb, args.files, args.seed)
    elif args.kind == "events":
        paths = generate_events(args.out, args.size_mb, args.files, args.seed, args.shape)
    elif args.kind == "keys":
        paths = generate_keys(args.out, args.size_mb, args.files, args.distinct, args.seed)
    else:
        paths = generate_text(args.out, args.size_mb, args.files, seed=args.seed)
    print(f"wrote {len(paths)} files, {sum(p.stat().st_size for p in paths) / 1e6:.1f} MB, to {args.out}")


if __name__ == "__main__":
    main()
