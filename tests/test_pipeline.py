"""The scan pipeline: any source that hands out chunks gets the whole scan, and every input is accounted for."""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import secretguard.pipeline as pipeline
from secretguard.config import Config, RuleSelection
from secretguard.findings import Origin, redact
from secretguard.provenance import ArchiveMember, FileAt, GitBlob
from secretguard.sources import Chunk, Inventory, Unreadable
from tests.helpers import MINI_RULES, report_key, run_cli
from tests.test_git_history import token

CONFIG = Config(rules=RuleSelection(extra_files=(MINI_RULES,)))
SOURCES = Path(pipeline.__file__).parent / "sources"


# --- a toy source: everything it needs is in this block -----------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """Where a toy chunk came from: the entry's index in the list."""

    index: int
    kind: str = "entry"

    def describe(self) -> str:
        return f"entry {self.index}"

    def origin(self) -> Origin:
        return Origin(source="list", path=f"entry-{self.index}")


@dataclass
class ListSource:
    """Strings to scan; ``None`` stands for an entry that cannot be read."""

    texts: list[str | None]
    label: str = "strings"
    target: str = "a list"

    def items(self, inventory: Inventory) -> Iterator[tuple[int, int]]:
        return ((i, len(text or "")) for i, text in enumerate(self.texts))

    def read(self, item: int) -> Iterator[Chunk]:
        text = self.texts[item]
        if text is None:
            raise Unreadable("gone")
        yield Chunk(text.encode(), Entry(item))

    def describe(self, item: int) -> str:
        return f"entry {item}"


def test_a_toy_source_gets_findings_locations_and_a_summary() -> None:
    secret = token(1)
    result = pipeline.scan(ListSource(["nothing here", f"x\nkey: {secret}\n", f"again {secret}"]), CONFIG)

    [finding] = result.findings
    assert finding.secret == secret
    assert sorted((o.source, o.path, o.line) for o in finding.locations) == [
        ("list", "entry-1", 2), ("list", "entry-2", 1)]
    assert (result.summary.source, result.summary.scanned, result.summary.target) == ("strings", 3, "a list")
    assert result.summary.unread_error() is None


def test_worker_processes_read_the_items_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "INLINE_BYTES", 0)
    monkeypatch.setattr(pipeline, "BATCH_ITEMS", 1)
    secrets = [token(n) for n in range(6)]
    texts: list[str | None] = [f"key: {s}" for s in secrets] + [None]

    result = pipeline.scan(ListSource(texts), CONFIG, jobs=2)

    assert sorted(f.secret for f in result.findings) == sorted(secrets)
    assert result.summary.unreadable == (("entry 6", "gone"),)
    assert result.summary.scanned == 6


def test_an_unreadable_item_is_named_and_the_rest_is_still_reported() -> None:
    secret = token(2)
    result = pipeline.scan(ListSource([None, f"key: {secret}", None, None, None]), CONFIG)

    assert [f.secret for f in result.findings] == [secret]
    assert result.summary.scanned == 1
    assert result.summary.unread_error() == ("4 inputs could not be scanned: entry 0 (gone), entry 2 (gone), "
                                             "entry 3 (gone) and 1 more")


def test_a_nul_prefixed_chunk_is_scanned_as_text_and_counted() -> None:
    result = pipeline.scan(ListSource(["\0binary " + token(3), "text"]), CONFIG)

    assert [(f.secret, [o.binary for o in f.locations]) for f in result.findings] == [(token(3), [None])]
    assert result.summary.skipped == ()
    assert result.summary.scanned == 2


# --- every input accounted for on the command line ------------------------------------------------------------

def test_scan_dir_names_a_file_it_cannot_read_and_exits_2(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    secret = token(4)
    (tree / "config.txt").write_text(f"key: {secret}\n")
    (tree / "mem").symlink_to("/proc/self/mem")  # a regular file whose read fails, even for root
    report = tmp_path / "report.json"

    run = run_cli("scan", "dir", tree, "--config", _config(tmp_path), "-f", "json", "-o", report)

    assert run.code == 2
    assert run.err == "error: 1 input could not be scanned: mem (Input/output error)\n"
    document = json.loads(report.read_text())
    assert [f["secret"] for f in document["findings"]] == [redact(secret)]
    assert document["summary"]["unreadable"] == [{"path": "mem", "reason": "Input/output error"}]
    assert document["summary"]["scanned"] == 1

    text = run_cli("scan", "dir", tree, "--config", _config(tmp_path))
    assert text.code == 2
    assert "not scanned mem: Input/output error" in text.out


def test_a_file_over_the_size_limit_is_listed_but_does_not_fail(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "big.txt").write_text("x" * 5000)
    (tree / "small.txt").write_text("nothing\n")

    run = run_cli("scan", "dir", tree, "--max-file-size", "1000", "-f", "json")

    assert run.code == 0, run.err
    assert json.loads(run.out)["summary"]["skipped"] == [{"path": "big.txt", "reason": "larger than 1000 bytes"}]


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "secretguard.yaml"
    config.write_text(f"rules:\n  extra: ['{MINI_RULES}']\n")
    return config


# --- the shape ---------------------------------------------------------------------------------------------

FORBIDDEN = ("secretguard.engine", "secretguard.filters", "secretguard.report", "secretguard.pipeline",
             "secretguard.decoders", "secretguard.extractors", "secretguard.detectors")


@pytest.mark.parametrize("module", sorted(SOURCES.glob("*.py")), ids=lambda p: p.name)
def test_sources_import_nothing_from_the_engine_filters_or_reporters(module: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert not {name for name in imported if name.startswith(FORBIDDEN)}


def test_provenance_kinds_describe_themselves_and_blob_ids_stay_blob_ids() -> None:
    blob = GitBlob("repo", "0123456789abcdef0123456789abcdef01234567", "app/.env")
    assert blob.describe() == "app/.env (blob 0123456789)"
    assert blob.origin() == Origin(source="git", repo="repo", path="app/.env")
    member = ArchiveMember(FileAt("dist/app.zip"), "config/.env")
    assert member.describe() == "dist/app.zip!config/.env"
    assert member.origin() == Origin(source="file", path="dist/app.zip!config/.env")


# --- validators and enrichers come from rule data --------------------------------------------------------------

ORG_KEY_RULES = """\
rules:
  - id: org-deploy-key
    name: Deploy key in the organisation's own format
    severity: high
    keywords: [deploy_key]
    pattern: 'deploy_key\\s*=\\s*(?P<secret>(?:AKIA|ASIA)[A-Z2-7]{16})'
    validate: VALIDATOR
    examples: ['deploy_key = AKIAQ3RZ7W2LMNPX4KTY', 'deploy_key=ASIAQ3RZ7W2LMNPX4KTZ']
"""
KEY_ID = "AKIAQ3RZ7W2LMNPX4KTY"


def _org_rules(tmp_path: Path, validator: str) -> Config:
    rules = tmp_path / "org.yaml"
    rules.write_text(ORG_KEY_RULES.replace("VALIDATOR", validator))
    return Config(rules=RuleSelection(extra_files=(rules,)))


def test_a_rule_naming_the_aws_validator_is_enriched_with_the_account(tmp_path: Path) -> None:
    from secretguard.aws.keys import account_from_key_id

    config = _org_rules(tmp_path, "aws-sts")
    result = pipeline.scan(ListSource([f"deploy_key = {KEY_ID}"]), config)

    [finding] = [f for f in result.findings if f.rule == "org-deploy-key"]
    assert finding.enrichment == {"aws_account": account_from_key_id(KEY_ID)}
    assert finding.to_dict(False, report_key())["aws_account"] == account_from_key_id(KEY_ID)


def test_a_rule_naming_no_validator_is_not_enriched(tmp_path: Path) -> None:
    config = _org_rules(tmp_path, "none-such")
    [finding] = [f for f in pipeline.scan(ListSource([f"deploy_key = {KEY_ID}"]), config).findings
                 if f.rule == "org-deploy-key"]
    assert finding.enrichment == {}


def test_validation_dispatches_on_the_rules_validator(tmp_path: Path) -> None:
    from secretguard.errors import SecretguardError

    config = _org_rules(tmp_path, "none-such")
    with pytest.raises(SecretguardError, match="rule 'org-deploy-key': unknown validator 'none-such'"):
        pipeline.scan(ListSource([f"deploy_key = {KEY_ID}"]), config, validation=pipeline.Validation())


def test_format_choices_and_help_come_from_the_reporter_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from secretguard import report

    assert tuple(report.REPORTERS) == report.FORMATS
    assert report.format_help() == "text, json, jsonl, sarif or html."
    run = run_cli("scan", "dir", ".", "--format", "yaml")
    assert run.code == 2 and "choose from text, json, jsonl, sarif, html" in run.err


def test_without_fork_the_scan_runs_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    monkeypatch.setattr(pipeline, "INLINE_BYTES", 0)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    seen: list[int] = []

    @dataclass
    class Watched(ListSource):
        def read(self, item: int) -> Iterator[Chunk]:
            seen.append(item)  # in a worker process this list would stay empty here
            return super().read(item)

    result = pipeline.scan(Watched([f"key: {token(7)}", "text"]), CONFIG, jobs=2)

    assert [f.secret for f in result.findings] == [token(7)] and seen == [0, 1]


POISON = 3


@dataclass
class Doomed:
    """Entries of about 1 MB each (so the scan fans out); reading entry ``POISON`` kills the process."""

    texts: list[str]
    label: str = "strings"
    target: str = "a list"

    def items(self, inventory: Inventory) -> Iterator[tuple[int, int]]:
        return ((i, 1024 * 1024) for i in range(len(self.texts)))

    def read(self, item: int) -> Iterator[Chunk]:
        if item == POISON:
            os._exit(137)  # as the kernel's out-of-memory killer ends a process
        yield Chunk(self.texts[item].encode(), Entry(item))

    def describe(self, item: int) -> str:
        return f"entry {item}"


def test_a_worker_process_that_dies_fails_only_its_item() -> None:
    texts = [f"key: {token(i)}\n" for i in range(6)]

    result = pipeline.scan(Doomed(texts), CONFIG, jobs=2)

    assert sorted(f.secret for f in result.findings) == sorted(token(i) for i in range(6) if i != POISON)
    assert result.summary.unreadable == ((f"entry {POISON}", "the worker process died (killed, or out of memory)"),)
    assert result.summary.scanned == len(texts) - 1
