"""Read a topic with kcat, the reference tool, into exact (partition, offset, key, value)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

# %K/%S are the key/value lengths (-1 for null), so binary bytes parse exactly.
_FORMAT = "%p %o %K %S:%k%s\n"


def kcat_records(bootstrap: str, topic: str) -> list[tuple[int, int, bytes | None, bytes | None]]:
    if shutil.which("kcat") is None:
        pytest.fail("kcat is not installed (scripts/test installs it)")
    out = subprocess.run(
        ["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-f", _FORMAT],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    records = []
    pos = 0
    while pos < len(out):
        colon = out.index(b":", pos)
        partition, offset, klen, vlen = (int(x) for x in out[pos:colon].split())
        pos = colon + 1
        key = None if klen < 0 else out[pos : pos + klen]
        pos += max(klen, 0)
        value = None if vlen < 0 else out[pos : pos + vlen]
        pos += max(vlen, 0)
        assert out[pos : pos + 1] == b"\n"
        pos += 1
        records.append((partition, offset, key, value))
    return sorted(records)
