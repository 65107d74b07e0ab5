"""Scans through the Ray executor on a real local Ray runtime: the same findings as local processes, a worker
that dies on Ray fails only the item it was reading, and an error raised there reaches the caller unchanged."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import secretguard.pipeline as pipeline
from secretguard.config import Config
from secretguard.errors import SourceError
from secretguard.executors import RayCluster
from secretguard.sources import Chunk
from secretguard.sources.git import GitSource
from tests.helpers import run_cli
from tests.test_git_history import token
from tests.test_pipeline import CONFIG, POISON, Doomed
from tests.test_sweep import bulk_repo, credentials_file, key_pair, new_repo

pytest.importorskip("ray")
pytestmark = pytest.mark.ray


def ray_batches(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The tasks every :class:`RayCluster` runs from now on, recorded as they come back."""
    seen: list[object] = []
    run = RayCluster.run

    def counted(self, work, tasks):
        for task, outcome in run(self, work, tasks):
            seen.append(task)
            yield task, outcome

    monkeypatch.setattr(RayCluster, "run", counted)
    return seen


def comparable(result: pipeline.ScanResult) -> tuple[object, ...]:
    findings = sorted((f.rule, f.secret, repr(f.pair), sorted(map(repr, f.locations))) for f in result.findings)
    s = result.summary
    return findings, s.scanned, s.scanned_bytes, s.skipped, s.unreadable


def test_a_git_scan_on_ray_finds_what_local_processes_find(ray_runtime, tmp_path, monkeypatch):
    repo, key_ids = bulk_repo(tmp_path / "big", seed=7, commits=300, files=40)
    batches = ray_batches(monkeypatch)
    cluster = RayCluster("auto")
    try:
        on_ray = pipeline.scan(GitSource(str(repo)), Config(), executor=cluster)
    finally:
        cluster.close()
    local = pipeline.scan(GitSource(str(repo)), Config(), jobs=2)

    assert on_ray.summary.scanned_bytes > pipeline.INLINE_BYTES  # big enough to fan out at all
    assert len(batches) >= 2
    assert comparable(on_ray) == comparable(local)
    assert {f.secret for f in on_ray.findings if f.rule == "aws-access-key-id"} == set(key_ids)
    assert not on_ray.summary.unreadable


def test_a_worker_that_dies_on_ray_fails_only_its_item(ray_runtime):
    texts = [f"key: {token(i)}\n" for i in range(6)]
    cluster = RayCluster("auto")
    try:
        result = pipeline.scan(Doomed(texts), CONFIG, executor=cluster)
    finally:
        cluster.close()

    assert sorted(f.secret for f in result.findings) == sorted(token(i) for i in range(6) if i != POISON)
    [(what, reason)] = result.summary.unreadable
    assert what == f"entry {POISON}" and reason.startswith("Ray task failed after 3 retries")
    assert result.summary.scanned == len(texts) - 1


def test_scan_dir_and_scan_git_with_ray_report_what_they_report_without(ray_runtime, tmp_path, monkeypatch):
    rng = random.Random(11)
    words = [f"w{rng.randrange(10**6)}" for _ in range(500)]
    pairs = [key_pair(rng) for _ in range(3)]
    files: dict[str, str | None] = {f"src/f{i}.txt": " ".join(rng.choices(words, k=12_000)) for i in range(40)}
    files |= {f"conf/c{i}.ini": credentials_file(*pair) for i, pair in enumerate(pairs)}
    repo = new_repo(tmp_path / "repo", files)

    for command in (["scan", "dir"], ["scan", "git"]):
        batches = ray_batches(monkeypatch)
        on_ray = run_cli(*command, repo, "--ray", "auto", "--format", "json", "--no-progress")
        assert len(batches) >= 1
        local = run_cli(*command, repo, "--jobs", "2", "--format", "json", "--no-progress")
        assert on_ray.code == local.code == 1, on_ray.err
        report = json.loads(on_ray.out)
        assert report == json.loads(local.out)
        assert report["summary"]["scanned_bytes"] > pipeline.INLINE_BYTES
        assert {f["secret"][:4] for f in report["findings"] if f["rule"] == "aws-access-key-id"} == {"AKIA"}
        assert len([f for f in report["findings"] if f["rule"] == "aws-access-key-id"]) == len(pairs)


@dataclass
class Corrupt(Doomed):
    """A source whose reading fails as a damaged repository does."""

    def read(self, item: int) -> Iterator[Chunk]:
        raise SourceError(f"a list: object {item} is missing (corrupt repository)")


def test_an_error_raised_on_ray_reaches_the_caller_as_itself(ray_runtime):
    cluster = RayCluster("auto")
    try:
        with pytest.raises(SourceError) as raised:
            pipeline.scan(Corrupt(["x"] * 4), CONFIG, executor=cluster)
    finally:
        cluster.close()
    assert str(raised.value).startswith("a list: object ") and "Traceback" not in str(raised.value)
