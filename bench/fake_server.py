"""The fake backend in a process of its own, so the client under test has the CPU to itself.

Prints its base URL, serves until standard input closes, then prints how many
TCP connections it accepted.
"""

from __future__ import annotations

import sys

from claif_myprovider.testing import FakeBackend, reply_for


def main() -> None:
    chunks = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with FakeBackend(default=reply_for("", chunks=chunks)) as backend:
        print(backend.url, flush=True)
        sys.stdin.read()
        print(backend.connections, flush=True)


if __name__ == "__main__":
    main()
