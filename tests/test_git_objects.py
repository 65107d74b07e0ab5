"""Reading blobs a batch at a time through git, and one by one through pygit2 where git cannot help."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from secretguard.sources.git_objects import ObjectReader
from tests.test_git_history import commit, git, init_repo


@pytest.fixture
def blobs(tmp_path: Path) -> tuple[str, dict[str, bytes]]:
    """A repository's git dir and its blobs by ID (one of them over a megabyte)."""
    repo = init_repo(tmp_path / "repo")
    files = {f"f{n}.txt": f"content {n}\n".encode() * (n + 1) for n in range(20)}
    files["big.bin"] = bytes(range(256)) * 5000
    commit(repo, dict(files))
    by_id = {git(repo, "hash-object", name): data for name, data in files.items()}
    return str(repo / ".git"), by_id


def reader(git_dir: str) -> ObjectReader:
    return ObjectReader(git_dir, lambda path: pygit2.Repository(path).odb)


def test_a_batch_is_read_through_git_in_order(blobs) -> None:
    git_dir, by_id = blobs
    objects = reader(git_dir)
    objects.expect(list(by_id), sum(map(len, by_id.values())))
    assert objects._git is not None  # the batch went to git

    assert {oid: objects.read(oid) for oid in by_id} == by_id
    assert objects._odb is None  # pygit2 was never needed
    objects.close()


def test_a_missing_blob_is_an_error_and_the_batch_goes_on(blobs) -> None:
    git_dir, by_id = blobs
    missing = "0123456789abcdef0123456789abcdef01234567"
    order = [*list(by_id)[:5], missing, *list(by_id)[5:]]
    objects = reader(git_dir)
    objects.expect(order, 10 * 2**20)

    for oid in order:
        if oid == missing:
            with pytest.raises(KeyError):
                objects.read(oid)
        else:
            assert objects.read(oid) == by_id[oid]
    assert objects._git is not None  # still in step with git
    objects.close()


def test_a_batch_left_unread_does_not_shift_the_next_one(blobs) -> None:
    git_dir, by_id = blobs
    ids = list(by_id)
    objects = reader(git_dir)
    objects.expect(ids[:10], 10 * 2**20)
    objects.read(ids[0])  # the worker stopped this batch early

    objects.expect(ids[10:], 10 * 2**20)
    assert [objects.read(oid) for oid in ids[10:]] == [by_id[oid] for oid in ids[10:]]
    assert objects._odb is None  # every blob came from git
    objects.close()


def test_when_git_dies_the_rest_is_read_with_pygit2(blobs) -> None:
    git_dir, by_id = blobs
    objects = reader(git_dir)
    objects.expect(list(by_id) * 2000, 10 * 2**20)  # IDs still being written when git goes
    assert objects._git is not None
    objects._git.kill()
    objects._git.wait()

    assert {oid: objects.read(oid) for oid in by_id} == by_id
    assert objects._git is None
    objects.close()


def test_small_batches_and_machines_without_git_use_pygit2(blobs, tmp_path: Path, monkeypatch) -> None:
    git_dir, by_id = blobs
    small = reader(git_dir)
    small.expect(list(by_id)[:3], 300)
    assert small._git is None and [small.read(oid) for oid in list(by_id)[:3]] == list(by_id.values())[:3]

    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    no_git = reader(git_dir)
    no_git.expect(list(by_id), 10 * 2**20)
    assert no_git._git is None
    assert {oid: no_git.read(oid) for oid in by_id} == by_id
