"""Deterministic generators for data sets larger than the bundled samples.

    python data/generate.py text --size-mb 100 --files 8 --out /tmp/mr_text
    python data/generate.py keys --size-mb 1000 --distinct 30000000 --out /tmp/mr_keys

Text has a Zipf-like word distribution over a fixed vocabulary (as real prose
does: a few words very common, most rare), mixed case, punctuation, CRLF on
some files and a byte-order mark on one. The same arguments and seed always
give the same bytes. Keys are lines of random tokens drawn from a large
space, for jobs with tens of millions of distinct keys. Generated data is
never committed.
"""

from __future__ import annotations

import argparse
import random
from itertools import accumulate
from pathlib import Path

SYLLABLES = "ka lo mi ne ru sa ti vo we ya ze bo cu da fe gi ha ji".split()


def vocabulary(size: int, rng: random.Random) -> list[str]:
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
    out.mkdir(parents=True, exist_ok=True)
    per_file = int(size_mb * 1024 * 1024 / files)
    space = range(distinct)
    paths = []
    for i in range(files):
        path = out / f"keys_{i:03d}.txt"
        with open(path, "w", encoding="ascii", newline="\n") as fh:
            written = 0
            while written < per_file:
                tokens = [f"k{x:07x}" for x in rng.choices(space, k=10_000)]
                chunk = "\n".join(" ".join(tokens[j:j + 10]) for j in range(0, 10_000, 10)) + "\n"
                fh.write(chunk)
                written += len(chunk)
        paths.append(path)
    return paths


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
    args = parser.parse_args()
    if args.kind == "keys":
        paths = generate_keys(args.out, args.size_mb, args.files, args.distinct, args.seed)
    else:
        paths = generate_text(args.out, args.size_mb, args.files, seed=args.seed)
    print(f"wrote {len(paths)} files, {sum(p.stat().st_size for p in paths) / 1e6:.1f} MB, to {args.out}")


if __name__ == "__main__":
    main()
