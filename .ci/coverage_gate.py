"""Per-package coverage gate, run by `make test` after the main pytest run.

Reads the .coverage data that run wrote (line and branch, configured in
pyproject's [tool.coverage]) and prints, for each package source directory
given, its line, branch and combined coverage. Exits 1 if any package's
combined figure (coverage's own: lines plus branches covered, over lines plus
branches) is below --fail-under, listing that package's files with the most
missed lines.

    python .ci/coverage_gate.py --fail-under 85 shared/src/claif packages/*/src/*
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import coverage

TOP_FILES = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fail-under", type=float, required=True)
    parser.add_argument("packages", nargs="+", help="package source directories")
    args = parser.parse_args(argv)

    roots = [Path(p).resolve() for p in args.packages]
    cov = coverage.Coverage()
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        try:
            cov.json_report(include=[f"{r}/*" for r in roots], outfile=str(out))
            files = json.loads(out.read_text())["files"]
        except coverage.exceptions.NoDataError:
            files = {}

    failed = []
    print(f"Coverage per package (line + branch), minimum {args.fail_under:g}%:")
    for root in roots:
        mine = {
            name: data for name, data in files.items() if Path(name).resolve().is_relative_to(root)
        }
        s = {"num_statements": 0, "covered_lines": 0, "num_branches": 0, "covered_branches": 0}
        for data in mine.values():
            for key in s:
                s[key] += data["summary"][key]
        total = s["num_statements"] + s["num_branches"]
        covered = s["covered_lines"] + s["covered_branches"]
        pct = 100.0 * covered / total if total else 0.0
        line = 100.0 * s["covered_lines"] / s["num_statements"] if s["num_statements"] else 0.0
        branch = 100.0 * s["covered_branches"] / s["num_branches"] if s["num_branches"] else 100.0
        ok = bool(total) and pct >= args.fail_under
        print(
            f"  {'ok  ' if ok else 'FAIL'} {root.name:<24} {pct:5.1f}%"
            f"  (lines {line:5.1f}% of {s['num_statements']},"
            f" branches {branch:5.1f}% of {s['num_branches']})"
        )
        if not total:
            print(f"       no data for {root}: is it passed to pytest --cov?")
        if not ok:
            failed.append(root.name)
            by_missed = sorted(
                mine.items(), key=lambda kv: kv[1]["summary"]["missing_lines"], reverse=True
            )
            for name, data in by_missed[:TOP_FILES]:
                sm = data["summary"]
                print(
                    f"       {sm['missing_lines']:4d} lines, {sm['missing_branches']:3d} branches"
                    f" missed  {sm['percent_covered']:5.1f}%  {name}"
                )
    if failed:
        print(f"Coverage below {args.fail_under:g}% in: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
