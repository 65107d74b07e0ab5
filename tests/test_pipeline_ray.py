"""Scans through the Ray executor on a real local Ray runtime: the same findings as local processes, and a worker
that dies on Ray fails only the item it was reading."""

from __future__ import annotations

import pytest

import secretguard.pipeline as pipeline
from secretguard.config import Config
from secretguard.executors import RayCluster
from secretguard.sources.git import GitSource
from tests.test_pipeline import CONFIG, POISON, Doomed
from tests.test_git_history import token
from tests.test_sweep import bulk_repo

pytest.importorskip("ray")
pytestmark = pytest.mark.ray


def counting(cluster: RayCluster) -> list[object]:
    """The tasks ``cluster`` runs from now on, recorded as they come back."""
    seen: list[object] = []
    run = cluster.run

    def counted(work, tasks):
        for task, outcome in run(work, tasks):
            seen.append(task)
            yield task, outcome

    cluster.run = counted  # type: ignore[method-assign]
    return seen


def comparable(result: pipeline.ScanResult) -> tuple[object, ...]:
    findings = sorted((f.rule, f.secret, repr(f.pair), sorted(map(repr, f.locations))) for f in result.findings)
    s = result.summary
    return findings, s.scanned, s.scanned_bytes, s.skipped, s.unreadable


def test_a_git_scan_on_ray_finds_what_local_processes_find(ray_runtime, tmp_path):
    repo, key_ids = bulk_repo(tmp_path / "big", seed=7, commits=300, files=40)
    cluster = RayCluster("auto")
    batches = counting(cluster)
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
