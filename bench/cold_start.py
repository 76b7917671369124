"""Cold start: ``claif-myp --help`` against ``llm --help``, each in its own environment.

Run with ``make bench`` (or ``uv run python bench/cold_start.py``). Prints the
median wall time of each command over several runs and the ratio; the target
is at most 0.12x.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from peers import peer_env

RUNS = 15


def median_seconds(command: list[str], runs: int = RUNS) -> float:
    """Median wall time of a command whose output is thrown away."""
    env = {**os.environ, "PAGER": "cat", "NO_COLOR": "1"}
    subprocess.run(command, capture_output=True, env=env, check=False)  # warm the page cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode not in (0,):
            raise SystemExit(f"{command} failed: {done.stderr.decode()[-500:]}")
    return statistics.median(times)


def main() -> None:
    bin_dir = Path(sys.executable).parent
    llm_bin = peer_env("llm", "llm") / "llm"
    rows = {
        "python -c pass": median_seconds([sys.executable, "-c", "pass"]),
        "claif-myp --help": median_seconds([str(bin_dir / "claif-myp"), "--help"]),
        "claif --help": median_seconds([str(bin_dir / "claif"), "--help"]),
        "llm --help": median_seconds([str(llm_bin), "--help"]),
    }
    for name, seconds in rows.items():
        print(f"{name:<20} {seconds * 1000:8.1f} ms (median of {RUNS})")
    ratio = rows["claif-myp --help"] / rows["llm --help"]
    print(f"cold start ratio claif-myp/llm: {ratio:.3f}x (target <= 0.12x)")


if __name__ == "__main__":
    main()
