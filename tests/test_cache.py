"""The on-disk cache of compiled databases and parsed rule files."""

from __future__ import annotations

import os
import time

from secretguard.cache import MAX_AGE_DAYS, cache_dir, read_entry, write_entry


def test_entries_unused_for_a_month_go_when_another_is_written():
    write_entry("old-unused", b"1")
    write_entry("old-but-read", b"2")
    long_ago = time.time() - (MAX_AGE_DAYS + 1) * 86400
    for name in ("old-unused", "old-but-read"):
        os.utime(cache_dir() / name, (long_ago, long_ago))
    assert read_entry("old-but-read") == b"2"  # reading marks it as used

    write_entry("new", b"3")

    assert read_entry("old-unused") is None
    assert (read_entry("old-but-read"), read_entry("new")) == (b"2", b"3")


def test_an_unwritable_cache_only_costs_the_work_again(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))

    write_entry("anything", b"data")  # no error

    assert read_entry("anything") is None
