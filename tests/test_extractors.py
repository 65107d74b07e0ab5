"""Structure-aware extraction: each format's values as NAME="value" lines at their own line numbers, what the
line scanner alone misses in them, and the fallback when a file does not parse."""

from __future__ import annotations

import base64
import json

import pytest

from secretguard.config import RuleSelection
from secretguard.decoders import MAX_DECODED_BYTES
from secretguard.extractors import extract_regions, file_kind
from secretguard.findings import Hit, Origin
from secretguard.pipeline import detector_for, scan_chunk
from secretguard.sources import Chunk
from tests.helpers import run_cli

KEY_ID = "AKIA7ZZ46M4NXY5UBBDW"
AWS_SECRET = "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"
PASSWORD = "Xk9#mP2q!Lw7zR"
PEM_LINES = [
    "-----BEGIN RSA PRIVATE KEY-----\n",
    "MIIEpAIBAAKCAQEAZe9VeO+yOVspGZLybt+08Y9EIOqevyUvkFja01SGF78ot+T5\n",
    "rKtxyIewixffEyfyJ8ccRw0QJt6C23i2bi79hVUaYz22JLTpezOagTFnPcWlfsdv\n",
    "GE21oCAQdQiDkMvydREW3fRrqBDRS9oQgk+AajvTwCMAtcsmK79pbF64tpzEUQKy\n",
    "-----END RSA PRIVATE KEY-----\n",
]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def scan(text: str, path: str, depth: int = 2) -> list[Hit]:
    chunk = Chunk(text.encode(), Origin("file", path=path))
    return scan_chunk(detector_for(RuleSelection()), chunk, decode_depth=depth)


def where(hits: list[Hit], rule: str) -> list[tuple[str, int, tuple[str, ...]]]:
    return [(h.secret, h.origin.line or 0, h.decoded) for h in hits if h.rule == rule]


def lines(path: str, text: str) -> list[tuple[str, int]]:
    """Each synthetic line with the chunk line it points at."""
    data = text.encode()
    out = []
    for region in extract_regions(path, data, 1, [MAX_DECODED_BYTES]):
        if region.token:
            continue  # decoded inside an extracted value, not extracted
        for i, line in enumerate(region.text.decode().split("\n")):
            at = region.origins[min(i, len(region.origins) - 1)]
            out.append((line, data.count(b"\n", 0, at) + 1))
    return out


@pytest.mark.parametrize("path, data, kind", [
    ("deploy/secret.yml", b"", "yaml"), ("a/b/config.JSON", b"", "json"), ("prod.tfvars", b"", "tfvars"),
    (".env", b"", "env"), (".env.production", b"", "env"), ("app.env", b"", "env"), ("setup.cfg", b"", "ini"),
    ("app.properties", b"", "properties"), ("nb/analysis.ipynb", b"", "notebook"), ("main.py", b"{}", None),
    ("9f1c0a" * 6, b"apiVersion: v1\nkind: Secret\n", "yaml"),          # a git blob: by its content
    ("9f1c0a" * 6, b'  {"nbformat": 4, "cells": []}', "notebook"), ("Makefile", b"all:\n", None),
])
def test_file_kind_by_name_then_content(path, data, kind):
    assert file_kind(path, data) == kind


# --- Kubernetes Secrets -------------------------------------------------------------------------------------------

K8S = f"""\
apiVersion: v1
kind: ConfigMap
data:
  password: {b64("not-a-secret-map")}
---
apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
data:
  username: {b64("svc-orders")}
  password: {b64(PASSWORD)}
  config.json: {b64(json.dumps({"aws": {"secret": AWS_SECRET}}))}
stringData:
  api_token: "Zt7#qL2m!Vx9pK"
"""


def test_kubernetes_secret_data_is_decoded_string_data_is_plain():
    assert lines("secret.yaml", K8S) == [
        ('data.password="bm90LWEtc2VjcmV0LW1hcA=="', 4),  # a ConfigMap's data: named, not decoded
        ('api_token="Zt7#qL2m!Vx9pK"', 16),
        ('username="svc-orders"', 12),
        (f'password="{PASSWORD}"', 13),
        (f"config.json='{json.dumps({'aws': {'secret': AWS_SECRET}})}'", 14),
    ]


def test_kubernetes_secret_findings_point_at_their_lines():
    hits = scan(K8S, "secret.yaml")
    assert (PASSWORD, 13, ("base64",)) in where(hits, "generic-password")
    # base64 of JSON: the extractor decodes the value, then the JSON inside names the key
    assert [(s, line) for s, line, _ in where(hits, "aws-secret-access-key-assignment")] == [(AWS_SECRET, 14)]


def test_broken_yaml_falls_back_to_the_line_scanner():
    text = f"kind: Secret\ndata:\n  password: {b64(PASSWORD)}\n  other: [unclosed\n"
    assert extract_regions("secret.yaml", text.encode(), 2, [MAX_DECODED_BYTES]) == []
    assert where(scan(text, "secret.yaml"), "generic-password") == [(PASSWORD, 3, ("base64",))]


def test_yaml_aliases_are_not_expanded():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    regions = extract_regions("bomb.yaml", (bomb + "password: v9#Lq2!mZx\n").encode(), 2, [MAX_DECODED_BYTES])
    texts = [r.text for r in regions]
    assert any(b"v9#Lq2!mZx" in t for t in texts)  # the document was read
    assert sum(len(t) for t in texts) < 4096  # and its aliases not expanded (that would be 10**9 items)


# --- docker-compose and name/value pairs ------------------------------------------------------------------------

def test_compose_environment_list_and_map():
    text = f"""\
services:
  api:
    image: acme/api:1.4
    environment:
      - "DB_PASSWORD={PASSWORD}"
      - DEBUG=false
  worker:
    environment:
      QUEUE_TOKEN: 'Hq2!vR8#kLz5Tw'
"""
    plain = where(scan(text, "docker-compose.yml", depth=0), "generic-password")
    assert plain == [("Hq2!vR8#kLz5Tw", 9, ())]  # in the list, the closing quote hides the value
    hits = scan(text, "docker-compose.yml")
    assert sorted(where(hits, "generic-password")) == sorted(plain + [(PASSWORD, 5, ())])


def test_kubernetes_env_and_ecs_name_value_pairs():
    pod = f"env:\n  - name: DB_PASSWORD\n    value: \"{PASSWORD}\"\n"
    assert where(scan(pod, "deploy.yaml"), "generic-password") == [(PASSWORD, 3, ())]
    ecs = json.dumps({"containerDefinitions": [{"environment": [{"name": "DB_PASSWORD", "value": PASSWORD}]}]},
                     indent=2)
    assert where(scan(ecs, "taskdef.json", depth=0), "generic-password") == []
    assert where(scan(ecs, "taskdef.json"), "generic-password") == [(PASSWORD, 7, ())]


# --- JSON configs and notebooks -------------------------------------------------------------------------------------

def test_json_nested_names_give_context():
    text = json.dumps({"region": "eu-west-1", "aws": {"secret": AWS_SECRET}}, indent=2)
    assert lines("config.json", text) == [('aws.secret="' + AWS_SECRET + '"', 4)]
    assert where(scan(text, "config.json", depth=0), "generic-password") == [(AWS_SECRET, 4, ())]
    hits = scan(text, "config.json")  # the specific rule, at the plain scan's exact place
    assert [(h.rule, h.secret, h.origin.line, h.origin.column, h.decoded) for h in hits] == [
        ("aws-secret-access-key-assignment", AWS_SECRET, 4, 16, ())]


@pytest.mark.parametrize("path, data", [
    ("config.json", b'{"password": "x9#Lq2!mZv",'),
    ("deep.json", b'{"password": "x9#Lq2!mZv", "a": ' + b"[" * 100000 + b"]" * 100000 + b"}"),
    ("deep.yaml", b"password: x9#Lq2!mZv\na: " + b"[" * 5000 + b"]" * 5000 + b"\n"),
])
def test_what_does_not_parse_gives_nothing(path, data):
    assert extract_regions(path, data, 2, [MAX_DECODED_BYTES]) == []


def test_notebook_private_key_split_over_cell_lines():
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Deploy\n", "notes"]},
            {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
             "source": ["key = \"\"\"\n", *PEM_LINES, "\"\"\"\n", "deploy(key)"]},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    text = json.dumps(notebook, indent=1) + "\n"
    assert scan(text, "deploy.ipynb", depth=0) == []  # each line is its own JSON string
    hits = scan(text, "deploy.ipynb")
    begin = text.splitlines().index('    "-----BEGIN RSA PRIVATE KEY-----\\n",') + 1
    assert where(hits, "private-key-rsa") == [("".join(PEM_LINES).strip(), begin, ("json-escape",))]


# --- .env, INI, properties, tfvars -------------------------------------------------------------------------------

def test_env_file_values():
    text = f"# comment\nexport API_TOKEN='Zt7#qL2m!Vx9pK'\nDB_PASSWORD=\"{PASSWORD}\"  # prod\nDEBUG=1\n"
    assert lines(".env.example", text) == [("API_TOKEN=\"Zt7#qL2m!Vx9pK\"", 2), (f'DB_PASSWORD="{PASSWORD}"', 3)]
    # in a settings file (not a template of one), credential-named values are in its view
    assert lines(".env", text) == [("env::API_TOKEN=Zt7#qL2m!Vx9pK", 2), (f"env::DB_PASSWORD={PASSWORD}", 3)]


def test_ini_section_names_the_value():
    text = f"[default]\nregion = eu-west-1\n\n[aws]\nsecret = {AWS_SECRET}\n"
    assert where(scan(text, "deploy.ini", depth=0), "aws-secret-access-key-assignment") == []
    assert where(scan(text, "deploy.ini"), "aws-secret-access-key-assignment") == [(AWS_SECRET, 5, ())]


def test_properties_with_space_separator_and_continuation():
    text = f"# app\ndb.url jdbc:postgresql://db/app\ndb.password {PASSWORD}\nsigning.key = Hq2!vR8#\\\n    kLz5Tw\n"
    assert where(scan(text, "app.properties", depth=0), "generic-password") == []
    assert lines("app.properties", text) == [(f'db.password="{PASSWORD}"', 3), ('signing.key="Hq2!vR8#kLz5Tw"', 4)]
    assert [(s, line) for s, line, _ in where(scan(text, "app.properties"), "generic-password")] == [(PASSWORD, 3)]


def test_tfvars_heredoc_and_maps():
    text = f'region = "eu-west-1"\ndb = {{ password = "{PASSWORD}" }}\nsigning_key = <<EOT\nHq2!vR8#kLz5Tw\nEOT\n'
    assert lines("prod.tfvars", text) == [(f'password="{PASSWORD}"', 2), ('signing_key="Hq2!vR8#kLz5Tw"', 4)]


def test_scan_dir_reports_extracted_secret_at_its_line(tree):
    root = tree({"app/app.properties": f"# settings\n\ndb.password {PASSWORD}\n"})
    run = run_cli("scan", "dir", root, "--format", "json")
    assert run.code == 1, run.err
    [finding] = json.loads(run.out)["findings"]
    assert finding["rule"] == "generic-password" and "decoded" not in finding
    assert [(o["path"], o["line"]) for o in finding["locations"]] == [("app/app.properties", 3)]
