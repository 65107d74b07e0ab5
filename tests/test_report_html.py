"""The HTML report, opened in headless Chromium: the rendered DOM (sorting, escaping, chart) and a screenshot."""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from secretguard.findings import Finding, Origin, Pair
from secretguard.report import ScanSummary
from secretguard.report.html import LIVE_COLOUR, OTHER_COLOUR, write_html
from tests.helpers import report_key, run_cli, store_fingerprint
from tests.test_sweep import commit, credentials_file, key_pair, new_repo

KEY_LIVE, SECRET_LIVE = "AKIAZ7Q3XBWJ5KTR2MHE", "q8Wc2+Lm4Nz7Pb1Vx9Rt6Yd3Fs0Hk5Gj8Ua2Ei4O"
KEY_DEAD, SECRET_DEAD = "AKIAM2RT7XQ5WZ3BJKHN", "Zx7Cv1Bn4Mq8Wa3Se6Dr9Ft2Gy5Hu0Ji3Ko7Lp1"
HOSTILE_PATH = "<img src=x onerror=alert(1)>.ini"


def chromium() -> str:
    """The Chromium binary; the test is skipped without one only outside CI (CI installs it)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed, and CI must run the HTML test (apt-get install chromium)")
    pytest.skip("chromium is not installed")


def headless(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--dns-prefetch-disable", "--no-pings", "--disable-domain-reliability",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",  # nothing but loopback resolves
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=True)


class DomReader(HTMLParser):
    """The parts of the rendered page the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []
        self.bars: dict[str, tuple[int, int]] = {}
        self.tags: list[str] = []
        self.table: dict[str, str | None] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "tr" and a.get("data-fingerprint"):
            self.rows.append(str(a["data-fingerprint"]))
        if tag == "g" and a.get("class") == "bar":
            self.bars[str(a["data-repo"])] = (int(a["data-findings"] or 0), int(a["data-live"] or 0))
        if tag == "table":
            self.table = a

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def rendered(tmp_path: Path, page: Path, fragment: str = "") -> DomReader:
    dom = headless(tmp_path, "--dump-dom", page.as_uri() + fragment).stdout
    reader = DomReader()
    reader.feed(dom)
    return reader


def png_pixels(path: Path) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and RGB(A) rows of an 8-bit, non-interlaced PNG such as Chromium writes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
    raw, bpp = zlib.decompress(idat), 3 if colour == 2 else 4
    stride, rows, prev, i = width * bpp, [], bytearray(width * bpp), 0
    for _ in range(height):
        kind_, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind_ == 1:
                line[x] = (line[x] + a) & 255
            elif kind_ == 2:
                line[x] = (line[x] + b) & 255
            elif kind_ == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind_ == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def findings() -> list[Finding]:
    live = Finding("aws-access-key-id", "AWS access key ID", "critical", KEY_LIVE, 3.9,
                   pair=Pair("aws-secret-access-key", SECRET_LIVE),
                   locations=[Origin("git", path="deploy/prod.ini", repo="git@example.test:org/payments.git", line=2,
                                     column=21, commit="a" * 40, author="Dev <dev@example.test>",
                                     date="2024-03-01T10:00:00+00:00")],
                   validation={"status": "live", "arn": "arn:aws:iam::123456789012:user/deployer",
                               "account": "123456789012"})
    dead = Finding("aws-access-key-id", "AWS access key ID", "critical", KEY_DEAD, 3.8,
                   pair=Pair("aws-secret-access-key", SECRET_DEAD),
                   locations=[Origin("git", path=HOSTILE_PATH, repo=f"git@example.test:org/{repo}.git", line=1,
                                     column=1, commit="b" * 40, date="2023-01-01T00:00:00+00:00")
                              for repo in ("payments", "web", "<script>alert(2)</script>")],
                   validation={"status": "invalid"})
    token = Finding("github-pat", "GitHub token", "high", "ghp_" + "k" * 36, 4.1,
                    locations=[Origin("git", path="ci.yml", repo="git@example.test:org/web.git", line=9, column=3,
                                      commit="c" * 40, date="2022-06-01T00:00:00+00:00")])
    return [live, dead, token]


def test_rendered_page_sorts_escapes_and_charts(tmp_path):
    page = tmp_path / "report.html"
    with open(page, "w", encoding="utf-8") as out:
        write_html(findings(), out, ScanSummary(target="sweep.db", source="repositories", scanned=3,
                                                 scanned_bytes=12_000_000, skipped=(("git@x:y.git", "clone failed"),),
                                                 notes=("rule aws-access-key-id: 2",)), False, report_key())
    source = page.read_text()
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(""", source)
    assert "default-src 'none'" in source
    for secret in (KEY_LIVE, SECRET_LIVE, KEY_DEAD, SECRET_DEAD):
        assert secret not in source

    fp = {f.secret: f.fingerprint(report_key()) for f in findings()}
    dom = rendered(tmp_path, page)
    assert dom.rows == [fp[KEY_LIVE], fp[KEY_DEAD], fp["ghp_" + "k" * 36]]  # the order given: live first
    assert "img" not in dom.tags and "script" in dom.tags and dom.tags.count("script") == 1
    assert HOSTILE_PATH in "".join(dom.text) and "<script>alert(2)</script>" in "".join(dom.text)
    assert dom.bars == {"git@example.test:org/payments.git": (2, 1), "git@example.test:org/web.git": (2, 0),
                        "git@example.test:org/<script>alert(2)</script>.git": (1, 0)}
    assert "AKIA************2MHE" in "".join(dom.text)

    by_locations = rendered(tmp_path, page, "#sort=-locations")
    assert by_locations.table.get("data-sorted") == "-locations"  # the script ran
    assert by_locations.rows == [fp[KEY_DEAD], fp[KEY_LIVE], fp["ghp_" + "k" * 36]]
    by_first_seen = rendered(tmp_path, page, "#sort=first-seen")
    assert by_first_seen.rows == [fp["ghp_" + "k" * 36], fp[KEY_DEAD], fp[KEY_LIVE]]


def test_screenshot_shows_the_live_and_other_bars(tmp_path):
    page = tmp_path / "report.html"
    with open(page, "w", encoding="utf-8") as out:
        write_html(findings(), out, ScanSummary(target="sweep.db"), False, report_key())
    shot = tmp_path / "shot.png"
    headless(tmp_path, "--hide-scrollbars", "--window-size=900,700", f"--screenshot={shot}", page.as_uri())
    width, height, bpp, rows = png_pixels(shot)
    assert (width, height) == (900, 700)
    colours = {bytes.fromhex(c[1:]): 0 for c in (LIVE_COLOUR, OTHER_COLOUR)}
    for row in rows:
        for x in range(0, len(row), bpp):
            pixel = row[x:x + 3]
            if pixel in colours:
                colours[pixel] += 1
    live, other = colours.values()
    assert live > 300 and other > 3 * live  # one live share, three whole or partial amber bars


def test_report_command_writes_the_html_file(tmp_path):
    key_id, secret = key_pair(random.Random(3))
    repo = new_repo(tmp_path / "svc", {"a.ini": credentials_file(key_id, secret)})
    commit(repo, {"b.txt": "b\n"})
    db, page = tmp_path / "sweep.db", tmp_path / "report.html"
    assert run_cli("sweep", repo, "--db", db, "--jobs", "1").code == 1
    run = run_cli("report", "--db", db, "--format", "html", "--output", page)
    assert run.code == 1, run.err
    dom = rendered(tmp_path, page)
    assert dom.rows == [store_fingerprint(db, "aws-access-key-id", key_id)]
    assert dom.bars == {str(repo.resolve()): (1, 0)}
    assert secret not in page.read_text() and key_id not in page.read_text()
