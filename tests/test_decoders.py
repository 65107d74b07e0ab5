"""Decoders: candidate tokens, each decoder, findings through them (origin, chain, decoded secret), merging
with the plain scan, the negatives that must stay silent, the depth switch and the per-file bounds."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import tracemalloc
from urllib.parse import quote

import pytest

from secretguard import decoders
from secretguard.config import RuleSelection
from secretguard.decoders import (
    MAX_DECODED_BYTES,
    CandidateFinder,
    decode_base64,
    decode_escapes,
    decode_hex,
    decode_percent,
    decode_regions,
)
from secretguard.engine import Detector, hyperscan
from secretguard.findings import Hit, Origin
from secretguard.pipeline import detector_for, scan_chunk
from secretguard.sources import Chunk
from tests.helpers import report_hash, run_cli

KEY_ID = "AKIA7ZZ46M4NXY5UBBDW"
AWS_SECRET = "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"
PASSWORD = "p@5s-W0rd!x9Qz"
BASIC_USER, BASIC_PASSWORD = "deploy-bot", "Jq8#vLw2pZ!m"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEAZe9VeO+yOVspGZLybt+08Y9EIOqevyUvkFja01SGF78ot+T5\n"
    "rKtxyIewixffEyfyJ8ccRw0QJt6C23i2bi79hVUaYz22JLTpezOagTFnPcWlfsdv\n"
    "GE21oCAQdQiDkMvydREW3fRrqBDRS9oQgk+AajvTwCMAtcsmK79pbF64tpzEUQKy\n"
    "4YPjITCBW7Me52663cze/phn3ZbeK5ucYTb5a1ejPqXOPJ6g8JSwO6pmtZPMjikK\n"
    "-----END RSA PRIVATE KEY-----"
)
FINDERS = [False, True] if hyperscan is not None else [False]


def b64(text: str | bytes, url: bool = False, pad: bool = True) -> str:
    raw = text.encode() if isinstance(text, str) else text
    out = (base64.urlsafe_b64encode if url else base64.b64encode)(raw).decode()
    return out if pad else out.rstrip("=")


def sha(text: str) -> str:
    return report_hash(text)


def scan(text: str | bytes, path: str = "f.txt", depth: int = 2) -> list[Hit]:
    data = text.encode() if isinstance(text, str) else text
    return scan_chunk(detector_for(RuleSelection()), Chunk(data, Origin("file", path=path)), decode_depth=depth)


def found(hits: list[Hit]) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(h.rule, h.secret, h.decoded) for h in hits}


# --- the decoders themselves ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["user:" + PASSWORD, "k?>~" * 5, "multi\nline\ttext\r\n!"])
@pytest.mark.parametrize("url", [False, True])
@pytest.mark.parametrize("pad", [False, True])
def test_base64_padded_unpadded_standard_and_url(raw, url, pad):
    assert decode_base64(b64(raw, url=url, pad=pad).encode()) == raw.encode()


@pytest.mark.parametrize("token", [
    b64(random.Random(1).randbytes(96)),            # binary
    b"abc-def+ghi/jkl_mnop".decode(),                # both alphabets
    "QUJDR",                                         # length 1 mod 4 after padding is stripped
])
def test_base64_rejects_binary_and_malformed(token):
    assert decode_base64(token.encode()) is None


def test_percent_hex_and_escapes():
    assert decode_percent(b"s3a://K:a%2Fb%2Bc@bkt/p?x=a+b%3D") == b"s3a://K:a/b+c@bkt/p?x=a b="
    assert decode_percent(b"plain") is None
    assert decode_hex(b"70617373776f72643d68756e7465723232") == b"password=hunter22"
    assert decode_hex(bytes(random.Random(2).randbytes(20)).hex().encode()) is None
    assert decode_escapes(b'"{\\"k\\": \\"a\\/b\\u002Fc\\n\\"}"') == b'{"k": "a/b/c\n"}'
    assert decode_escapes(b"no-escapes") is None


# --- candidate tokens -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("use_hyperscan", FINDERS, ids=lambda hs: "hyperscan" if hs else "regex")
def test_candidates_only_where_text_is_encoded(use_hyperscan):
    finder = CandidateFinder(use_hyperscan=use_hyperscan)
    token = b64("password=hunter2-but-longer")
    line = f"a = '{token}'\nURL=s3a://K:a%2Fb@bucket\nx = \"{{\\\"k\\\": 1}}\" h=70617373776f72643d31323334\n"
    kinds = [(kind, line.encode()[start:end]) for kind, start, end in finder.tokens(line.encode())]
    assert kinds == [
        ("base64", token.encode()),
        ("percent", b"URL=s3a://K:a%2Fb@bucket"),
        ("json-escape", b'"{\\"k\\": 1}"'),
        ("hex", b"70617373776f72643d31323334"),
    ]
    noise = (
        "def test_unicode_decode_error_handler_name(self): return sha512_hex_digest\n"
        "printf('%2d %5f %s', a, b, c)  /* 'C:\\\\Users\\\\x' */\n"
        f"commit = '{hashlib.sha1(b'x', usedforsecurity=False).hexdigest()}'"
        "  # ConfigurationManagerImplementationFactory\n"
    )
    assert list(finder.tokens(noise.encode())) == []


@pytest.mark.skipif(hyperscan is None, reason="needs the Hyperscan wheel")
@pytest.mark.parametrize("where", ["chunk", "region"])
def test_both_candidate_paths_agree(where):
    rng = random.Random(3)
    parts = [b64(f"k{i}:{rng.random()}") for i in range(30)] + [b64(rng.randbytes(40)) for _ in range(30)]
    values = [f"v{i} = '{part}'" for i, part in enumerate(parts)] + [f"Authorization: Basic {parts[0]}"]
    data = "\n".join(values + ["%2F%40", "\\/x", "h: 4142434445464748494a4b", "h=4142"]).encode()
    tokens = list(CandidateFinder(where, use_hyperscan=True).tokens(data))
    assert tokens == list(CandidateFinder(where, use_hyperscan=False).tokens(data))
    assert len([kind for kind, _, _ in tokens if kind == "base64"]) == (31 if where == "region" else 30)


@pytest.mark.skipif(hyperscan is None, reason="needs the Hyperscan wheel")
@pytest.mark.parametrize("where", ["chunk", "region"])
def test_both_candidate_paths_agree_on_random_runs(where):
    """Runs cut by '=', quotes and spaces at random places, hex of text and its near misses, padding."""
    rng = random.Random(7)
    pieces = ["=", "==", "===", " ", "'", "\n", "= ", "0a", "09", "0b", "4142", "7e", "AAAA", "Q2Fk", "ZW50",
              b64("password=hunter2hunter2"), "41424344454647484950", "x" * 17]
    for _ in range(200):
        data = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))).encode()
        expected = list(CandidateFinder(where, use_hyperscan=True).tokens(data))
        assert list(CandidateFinder(where, use_hyperscan=False).tokens(data)) == expected, data


# --- findings through decoders: the positive cases ------------------------------------------------------

def test_kubernetes_secret_with_base64_aws_key_pair():
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: deploy\ndata:\n"
        f"  AWS_ACCESS_KEY_ID: {b64(KEY_ID)}\n"
        f"  AWS_SECRET_ACCESS_KEY: {b64(AWS_SECRET)}\n"
    )
    hits = scan(manifest, "k8s/secret.yaml")
    [key] = [h for h in hits if h.rule == "aws-access-key-id"]
    assert key.secret == KEY_ID and key.decoded == ("base64",)
    assert key.pair is not None and key.pair.secret == AWS_SECRET
    assert (key.origin.line, key.origin.column) == (6, 22)  # the encoded value, not the decoded text
    assert all(h.secret != AWS_SECRET for h in hits)  # reported once, as the pair


def test_percent_encoded_password_in_database_url():
    url = f"postgres://orders_rw:{quote('Xk9@mP2qxLw7zR', safe='')}@db.acme-corp.io:5432/orders"
    hits = scan(f"DATABASE_URL={url}\n", "app.env")
    assert [(h.secret, h.decoded, h.origin.column) for h in hits if h.rule == "postgres-url-password"] == [
        ("Xk9@mP2qxLw7zR", ("percent",), 1)]


def test_percent_encoded_secret_key_in_s3a_url():
    url = f"s3a://{KEY_ID}:{quote(AWS_SECRET, safe='')}@analytics-bucket/events/"
    hits = scan(f"spark.hadoop.fs.defaultFS = {url}\n", "spark.conf")
    [key] = [h for h in hits if h.rule == "aws-access-key-id"]
    assert key.pair is not None and key.pair.secret == AWS_SECRET
    assert key.decoded == ("percent",)
    assert (key.origin.line, key.origin.column) == (1, 35)  # the key ID itself, seen as is


def test_pem_key_inside_json_string_with_escapes():
    escaped = json.dumps(PEM).replace("/", "\\u002F")  # as .NET and Go serializers write it
    hits = scan(f'{{"name": "deploy", "key": {escaped}}}\n', "deploy.json")
    [key] = [h for h in hits if h.rule == "private-key-rsa"]
    assert key.secret == PEM and key.decoded == ("json-escape",)
    assert (key.origin.line, key.origin.column) == (1, 27)  # the JSON string


def test_escaped_json_in_json_finds_named_password():
    inner = json.dumps({"user": "svc", "password": PASSWORD})
    hits = scan(json.dumps({"config": inner}) + "\n", "settings.json")
    assert ("generic-password", PASSWORD, ("json-escape",)) in found(hits)


def test_named_value_is_decoded_where_the_plain_scan_matched():
    hits = scan(f'DATABASES = {{"default": {{"password": "{b64(PASSWORD)}"}}}}\n', "settings.py")
    assert found(hits) == {("generic-password", PASSWORD, ("base64",))}  # the base64 form gives way


def test_basic_header_reports_the_decoded_password():
    header = b64(f"{BASIC_USER}:{BASIC_PASSWORD}")
    hits = scan(f'curl -H "Authorization: Basic {header}" https://ci.acme-corp.io/api\n', "ci.sh")
    assert found(hits) == {("generic-basic-auth-credentials", BASIC_PASSWORD, ("base64",))}
    assert (hits[0].origin.line, hits[0].origin.column) == (1, 31)


def test_plain_basic_header_stays_when_decoded_text_holds_nothing():
    header = b64("deploy:" + "a" * 12)
    hits = scan(f"Authorization: Basic {header}\n")
    assert found(hits) == {("generic-basic-auth-header", header, ())}


def test_json_document_in_a_json_string_reports_the_password_inside():
    secret = {"Name": "prod/db", "SecretString": json.dumps({"username": "svc", "password": PASSWORD})}
    assert found(scan(json.dumps(secret, indent=2), "secret.json")) == {
        ("generic-password", PASSWORD, ("json-escape",))}


def test_nested_chain_json_escape_then_base64():
    inner = json.dumps({"db": {"password": b64(PASSWORD)}})
    hits = scan(json.dumps({"blob": inner}) + "\n", "state.json")
    assert ("generic-password", PASSWORD, ("json-escape", "base64")) in found(hits)


def test_base64_of_base64_and_hex():
    twice = b64(b64(f"password = {PASSWORD}"))
    assert ("generic-password", PASSWORD, ("base64", "base64")) in found(scan(f"blob = {twice}\n"))
    hexed = f"password = {PASSWORD}".encode().hex()
    assert ("generic-password", PASSWORD, ("hex",)) in found(scan(f"payload = {hexed}\n"))


def test_depth_limits_the_chain():
    twice = b64(b64(f"password = {PASSWORD}"))
    assert found(scan(f"blob = {twice}\n", depth=1)) == set()
    assert found(scan(f"blob = {twice}\n", depth=0)) == set()


def test_plain_finding_is_not_repeated_by_decoders():
    token = "ghp_" + "Zq81mWc4Lp0sXv7Ne2Rt5Yb9Qa3Kd6" + "3jiTKb"  # payload + CRC32
    hits = scan(f'x = "https://host/?t={token}&pw=a%2Fb"\nAuthorization: Basic {b64("ci:" + token)}\n')
    assert [(h.rule, h.decoded, h.origin.line) for h in hits if h.secret == token] == [("github-pat", (), 1)]


def test_inline_allow_on_the_encoded_line():
    header = b64(f"{BASIC_USER}:{BASIC_PASSWORD}")
    assert scan(f"Authorization: Basic {header}  # secretguard:allow\n") == []


# --- negatives --------------------------------------------------------------------------------------------------

def test_images_fonts_lockfiles_binary_and_unsigned_jwts_stay_silent():
    rng = random.Random(4)
    png = b64(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(300))
    woff = b64(b"wOF2\x00\x01\x00\x00" + rng.randbytes(300))
    svg = b64('<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0h24v24H0z"/></svg>')
    integrity = "sha512-" + b64(rng.randbytes(64))
    jwt_header = b64('{"alg":"none","typ":"JWT"}', url=True, pad=False)
    jwt_body = b64('{"sub":"1234567890","name":"John Doe","admin":true}', url=True, pad=False)
    text = (
        f'.logo {{ background: url("data:image/png;base64,{png}"); }}\n'
        f'@font-face {{ src: url(data:font/woff2;base64,{woff}) format("woff2"); }}\n'
        f'<img src="data:image/svg+xml;base64,{svg}">\n'
        f'"node_modules/left-pad": {{"version": "1.3.0", "integrity": "{integrity}"}}\n'
        f"blob = '{b64(rng.randbytes(2000))}'\n"
        f'fixture_token = "{jwt_header}.{jwt_body}."\n'
    )
    assert scan(text, "fixtures.txt") == []


# --- switches and bounds ------------------------------------------------------------------------------------------

def test_json_output_has_chain_and_decoded_secret(tree):
    root = tree({"ci.sh": f'curl -H "Authorization: Basic {b64(f"{BASIC_USER}:{BASIC_PASSWORD}")}" https://ci\n'})
    run = run_cli("scan", "dir", root, "--format", "json")
    assert run.code == 1, run.err
    [finding] = json.loads(run.out)["findings"]
    assert finding["decoded"] == ["base64"]
    assert finding["secret_hash"] == sha(BASIC_PASSWORD)
    assert BASIC_PASSWORD not in run.out
    assert [(o["path"], o["line"], o["column"]) for o in finding["locations"]] == [("ci.sh", 1, 31)]


def test_decode_depth_zero_turns_decoders_off(tree):
    root = tree({"ci.sh": f'Authorization: Basic {b64(f"{BASIC_USER}:{BASIC_PASSWORD}")}\n'})
    run = run_cli("scan", "dir", root, "--format", "json", "--decode-depth", "0")
    assert [f["rule"] for f in json.loads(run.out)["findings"]] == ["generic-basic-auth-header"]
    (root / ".secretguard.yaml").write_text("decode_depth: 0\n")
    run = run_cli("scan", "dir", root, "--format", "json")
    assert [f.get("decoded") for f in json.loads(run.out)["findings"]] == [None]
    run = run_cli("scan", "dir", root, "--format", "json", "--decode-depth", "2")
    assert [f.get("decoded") for f in json.loads(run.out)["findings"]] == [["base64"]]


@pytest.mark.parametrize("args, config", [(("--decode-depth", "-1"), None), ((), "decode_depth: deep\n")])
def test_bad_decode_depth_is_one_line(tree, args, config):
    root = tree({"a.txt": "x\n"})
    if config:
        (root / ".secretguard.yaml").write_text(config)
    run = run_cli("scan", "dir", root, *args)
    assert run.code == 2
    assert run.err.startswith("error: ") and "decode_depth" in run.err.replace("-", "_")
    assert len(run.err.strip().splitlines()) == 1


def decode_measured(data: bytes) -> tuple[list, int]:
    """``decode_regions`` at full depth, with its peak traced memory in bytes."""
    tracemalloc.start()
    regions = decode_regions(data, decoders.MAX_DECODE_DEPTH)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return regions, peak


def bytes_scanned(monkeypatch: pytest.MonkeyPatch, data: bytes) -> int:
    """How many bytes the detector is given, in all, to scan ``data`` with every decoder at full depth."""
    given: list[int] = []
    real_scan = Detector.scan

    def counted(self: Detector, chunk: bytes) -> list:
        given.append(len(chunk))
        return real_scan(self, chunk)

    monkeypatch.setattr(Detector, "scan", counted)
    scan(data, depth=decoders.MAX_DECODE_DEPTH)
    return sum(given)


@pytest.mark.parametrize("megabytes", [10, 0.15])
def test_nested_base64_is_bounded(megabytes, monkeypatch):
    data = f"password = {PASSWORD}\n".encode()
    while len(data) < megabytes * 1024 * 1024:
        data = base64.b64encode(data)
    data = b"blob = " + data + b"\n"
    regions, peak = decode_measured(data)
    assert sum(len(r.text) - r.context - r.tail for r in regions) <= MAX_DECODED_BYTES
    assert peak < 8 * MAX_DECODED_BYTES
    if megabytes > 1:
        assert regions == []  # one token larger than the whole budget: skipped, not decoded
    else:
        depths = [len(r.chain) for r in regions]  # layer after layer, until the next would pass the budget
        assert len(depths) >= 2 and depths == list(range(1, len(depths) + 1))
    assert bytes_scanned(monkeypatch, data) <= len(data) + 2 * MAX_DECODED_BYTES  # the input, and what decodes


def test_many_nested_tokens_stay_within_the_budget():
    token = f"password = {PASSWORD}".encode()
    for _ in range(6):
        token = base64.b64encode(token)
    data = b"\n".join(b"v%d = %s" % (i, token) for i in range(10 * 1024 * 1024 // len(token)))
    regions, peak = decode_measured(data)
    decoded = sum(len(r.text) - r.context - r.tail for r in regions)
    assert 0 < decoded <= MAX_DECODED_BYTES
    assert peak < 16 * MAX_DECODED_BYTES
    assert any(r.chain == ("base64",) * 6 for r in regions)


def test_minified_line_of_many_escaped_strings_is_bounded():
    item = json.dumps({"url": "https://cdn.acme-corp.io/a/b", "note": "x"}).replace("/", "\\/")
    data = ("[" + ",".join([json.dumps(item)] * 40000) + "]").encode()  # one 4 MB line
    tokens = list(CandidateFinder().tokens(data))
    assert 0 < len(tokens) <= decoders.MAX_TOKENS and {kind for kind, _, _ in tokens} == {"json-escape"}
