"""The sweep on a real local Ray runtime (``ray.init(num_cpus=2)``): same store as the local pool, memory requests
that fit the cluster, and Ray's retry when a worker is killed mid-task."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from secretguard.config import Config
from secretguard.executors import Processes, RayCluster
from secretguard.sweep import sweep
from secretguard.sweep.store import Store
from tests.test_sweep import bulk_repo, commit, last_run_blobs, located, report_json

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


def run_sweep(db: Path, repos: list[Path], executor) -> None:
    with Store(db) as store:
        try:
            sweep([str(r) for r in repos], store, executor, Config(), db.with_name("mirrors"))
        finally:
            executor.close()


def ray_task_pids(name: bytes = b"sweep ") -> list[int]:
    """Ray workers running a task whose name starts with ``name`` right now (Ray titles a busy worker
    ``ray::<task name>``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if handle.read().startswith(b"ray::" + name):
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def test_ray_sweep_fills_the_same_store_as_the_local_pool(ray_runtime, tmp_path):
    repos = [bulk_repo(tmp_path / f"r{i}", seed=100 + i, commits=30, files=10)[0] for i in range(3)]
    on_ray, local = tmp_path / "ray.db", tmp_path / "local.db"
    run_sweep(on_ray, repos, RayCluster("auto"))
    run_sweep(local, repos, Processes(2))
    assert located(report_json(on_ray)) == located(report_json(local))
    assert last_run_blobs(on_ray) == last_run_blobs(local)

    # a repository recorded as far bigger than the machine still runs: its memory request is capped to a node
    with sqlite3.connect(on_ray) as con:
        con.execute("UPDATE repository SET size_bytes = ? WHERE key = ?", (10**13, str(repos[0])))
    commit(repos[0], {"new.txt": "new\n"})
    run_sweep(on_ray, repos, RayCluster("auto"))
    assert last_run_blobs(on_ray) == {str(repos[0]): 1, str(repos[1]): 0, str(repos[2]): 0}


def test_a_worker_killed_mid_task_is_retried_by_ray(ray_runtime, tmp_path):
    repos = [bulk_repo(tmp_path / f"r{i}", seed=200 + i, commits=150, files=40)[0] for i in range(4)]
    db = tmp_path / "ray.db"
    errors: list[BaseException] = []

    def background() -> None:
        try:
            run_sweep(db, repos, RayCluster("auto", jobs=2))
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    thread = threading.Thread(target=background)
    thread.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        pids = ray_task_pids()
        if pids:
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.005)
    thread.join(timeout=300)
    assert not errors and not thread.is_alive()
    assert killed is not None, "no sweep task was caught running"

    with Store(db, create=False) as store:
        assert store.failed_repositories() == []
    reference = tmp_path / "local.db"
    run_sweep(reference, repos, Processes(2))
    assert located(report_json(db)) == located(report_json(reference))
    assert len(located(report_json(db))) == len(repos)


def test_a_big_repository_on_ray_spreads_its_blobs_over_the_cluster(ray_runtime, tmp_path):
    big = bulk_repo(tmp_path / "big", seed=300, commits=300, files=40)[0]
    small = bulk_repo(tmp_path / "small", seed=301)[0]
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:  # a blob batch runs as a Ray task of its own, not inside the repository's task
        while not done.is_set():
            seen.extend(ray_task_pids(b"scan batch"))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run_sweep(tmp_path / "ray.db", [big, small], RayCluster("auto"))
    finally:
        done.set()
        watcher.join()
    run_sweep(tmp_path / "local.db", [big, small], Processes(2))

    assert seen, "no blob batch ran as a Ray task"
    assert located(report_json(tmp_path / "ray.db")) == located(report_json(tmp_path / "local.db"))
    assert last_run_blobs(tmp_path / "ray.db") == last_run_blobs(tmp_path / "local.db")
    with Store(tmp_path / "ray.db", create=False) as store:
        assert store.failed_repositories() == []
