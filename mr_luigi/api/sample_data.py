"""Deterministic sample text, as the original scheduler's ``create_sample_data``."""

from __future__ import annotations

import os
import random
from pathlib import Path

WORDS = (
    "the quick brown fox jumps over lazy dog map reduce shuffle sort partition key value "
    "luigi task worker scheduler split merge combine count word line file data job output "
    "it's don't o'clock naïve café 2024 42"
).split()


def create_sample_data(output_dir: str | os.PathLike[str], num_files: int = 3, lines_per_file: int = 500, seed: int = 42) -> list[str]:
    """Write ``num_files`` text files of random words; return their paths.

    The same arguments always give the same bytes.
    """
    rng = random.Random(seed)
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(num_files):
        path = folder / f"input_{i}.txt"
        lines = (" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 15))) for _ in range(lines_per_file))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(str(path))
    return paths
