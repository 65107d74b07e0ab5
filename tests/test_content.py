"""What the detector is given for one input: text in any encoding, printable runs of binaries, archive
members (nested, bounded against bombs, corrupt ones recorded), and the depth switch."""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import py_compile
import random
import sqlite3
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from secretguard import archives, content
from secretguard.archives import Limits, NotScanned
from secretguard.config import RuleSelection
from secretguard.content import Piece, pieces
from secretguard.pipeline import detector_for

KEY_ID = "AKIA7ZZ46M4NXY5UBBDW"
AWS_SECRET = "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"
ENV = f"# deploy settings\nREGION=eu-west-1\nAWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"


def split(items: list[Piece | NotScanned]) -> tuple[list[Piece], list[NotScanned]]:
    return [i for i in items if isinstance(i, Piece)], [i for i in items if isinstance(i, NotScanned)]


def key_lines(piece: Piece) -> list[int]:
    """Lines of ``piece`` where the built-in rules find the AWS key ID."""
    return [m.line for m in detector_for(RuleSelection()).scan(piece.data)
            if m.rule.id == "aws-access-key-id" and m.secret_text == KEY_ID]


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def tar_of(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_plain_utf8_text_is_handed_over_as_it_is():
    data = ENV.encode()
    [piece] = pieces(data, ".env")
    assert piece.data is data and piece.path == ".env" and piece.member is None
    assert (piece.binary, piece.encoding) == (False, None)


@pytest.mark.parametrize("encoding, bom", [
    ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-le", b""),
    ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-16-be", b""),
    ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-le", b""),
    ("utf-32-be", codecs.BOM_UTF32_BE), ("utf-32-be", b""),
])
def test_wide_encodings_are_decoded_and_keep_their_lines(encoding, bom):
    [piece] = pieces(bom + ENV.encode(encoding), "settings.ps1")
    assert piece.encoding == encoding and not piece.binary
    assert piece.data == ENV.encode()
    assert key_lines(piece) == [3]


def test_utf16_without_ascii_is_found_by_its_mark():
    text = "пароль = ключ\n" + ENV
    [piece] = pieces(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "ru.reg")
    assert piece.data.decode() == text and key_lines(piece) == [4]


def test_a_nul_prefixed_file_is_still_text():
    data = b"\0" + ENV.encode()
    [piece] = pieces(data, "creds.env")
    assert piece.data == data and not piece.binary and piece.encoding is None
    assert key_lines(piece) == [3]


ELF = (b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x02\x00\x3e\x00" + bytes(range(256)) * 4
       + b"\0\0" + KEY_ID.encode() + b"\0\x01\x02\x03" + bytes(300)
       + "ConnectionString".encode("utf-16-le") + b"\0\0" + bytes(range(256)))


def key_positions(piece: Piece) -> list[tuple[int, int]]:
    return [(m.line, m.column) for m in detector_for(RuleSelection()).scan(piece.data)
            if m.rule.id == "aws-access-key-id" and m.secret_text == KEY_ID]


PE = b"MZ\x90\x00" + ELF[4:]


def test_binary_is_scanned_in_place_with_its_utf16_strings_apart():
    raw, wide = pieces(PE, "bin/app.exe")
    assert raw.binary and raw.raw and raw.encoding is None and raw.data is PE  # no copy
    offset = PE.index(KEY_ID.encode())
    line_start = PE.rfind(b"\n", 0, offset) + 1
    assert key_positions(raw) == [(PE.count(b"\n", 0, offset) + 1, offset - line_start + 1)]
    assert (wide.path, wide.binary, wide.encoding, wide.raw) == ("bin/app.exe", True, "utf-16-le", False)
    assert wide.data == b"ConnectionString"


def test_elf_is_scanned_as_its_bytes_only():
    [raw] = pieces(ELF, "bin/app")
    assert raw.binary and raw.data is ELF and len(key_lines(raw)) == 1


def test_key_in_utf16_inside_a_binary_is_found():
    data = PE + b"\x01" + f"AWS_ACCESS_KEY_ID={KEY_ID}".encode("utf-16-le") + bytes(8) + "short".encode("utf-16-le")
    raw, wide = pieces(data, "app.exe")
    assert wide.data.split(b"\n") == [b"ConnectionString", f"AWS_ACCESS_KEY_ID={KEY_ID}".encode()]
    assert key_lines(wide) == [2]  # line N is the N-th UTF-16 string


def test_wide_strings_without_hyperscan_match_hyperscan(monkeypatch):
    data = (PE + b"\x01" + f"AWS_ACCESS_KEY_ID={KEY_ID}".encode("utf-16-le") + b"\x00x"
            + "odd offset!".encode("utf-16-le"))
    found = content.wide_strings(data)
    monkeypatch.setattr(content, "_wide_database", False)
    assert content.wide_strings(data) == found == (
        b"ConnectionString\n" + f"AWS_ACCESS_KEY_ID={KEY_ID}".encode() + b"\nodd offset!")


def test_key_compiled_into_a_pyc_is_found(tmp_path: Path):
    source = tmp_path / "settings.py"
    source.write_text(f"AWS_ACCESS_KEY_ID = '{KEY_ID}'\nAWS_SECRET_ACCESS_KEY = '{AWS_SECRET}'\n")
    compiled = Path(py_compile.compile(str(source), cfile=str(tmp_path / "settings.pyc")))
    data = compiled.read_bytes()
    [piece] = pieces(data, "settings.pyc")
    assert piece.binary and len(key_lines(piece)) == 1
    assert key_lines(Piece(data, "settings.pyc")) == []  # its next field's header runs into the key


def test_key_in_a_sqlite_database_is_found(tmp_path: Path):
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table settings (name text, value text)")
        conn.execute("insert into settings values ('aws_access_key_id', ?)", (KEY_ID,))
    raw, values = pieces(db.read_bytes(), "app.db")
    assert raw.binary and key_lines(raw) == []  # stored right after the name: aws_access_key_idAKIA…
    assert values.binary and values.data == f"settings.name=aws_access_key_id\nsettings.value={KEY_ID}".encode()
    assert key_lines(values) == [2]


def test_nested_zip_in_tar_gz_is_scanned_with_its_member_path():
    app = zip_of({"config/": b"", "config/.env": ENV.encode(), "README": b"nothing here\n"})
    found, skipped = split(list(pieces(tar_of({"app.zip": app, "docs/x.txt": b"hello\n"}), "dist/a.tgz")))
    assert skipped == []
    by_path = {p.path: p for p in found}
    assert set(by_path) == {"dist/a.tgz!app.zip!config/.env", "dist/a.tgz!app.zip!README", "dist/a.tgz!docs/x.txt"}
    env = by_path["dist/a.tgz!app.zip!config/.env"]
    assert env.member == "app.zip!config/.env" and key_lines(env) == [3]


@pytest.mark.parametrize("name", ["lib.jar", "app.war", "pkg.whl", "app.apk", "pkg.nupkg", "no-extension"])
def test_zip_is_known_by_content_not_name(name):
    [piece] = pieces(zip_of({"res/keys.properties": ENV.encode()}), name)
    assert piece.path == f"{name}!res/keys.properties" and key_lines(piece) == [3]


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_single_compressed_file_is_its_one_member(compress):
    [piece] = pieces(compress(ENV.encode()), "backup/prod.env.gz")
    assert piece.path == "backup/prod.env.gz!prod.env" and key_lines(piece) == [3]


@pytest.mark.parametrize("mode", ["w", "w:bz2", "w:xz"])
def test_tar_plain_bz2_and_xz(mode):
    [piece] = pieces(tar_of({"etc/app.env": ENV.encode()}, mode), "etc.tar")
    assert piece.path == "etc.tar!etc/app.env" and key_lines(piece) == [3]


def test_utf16_member_in_an_archive_is_decoded():
    [piece] = pieces(zip_of({"profile.ps1": codecs.BOM_UTF16_LE + ENV.encode("utf-16-le")}), "w.zip")
    assert piece.encoding == "utf-16-le" and key_lines(piece) == [3]


def _peak_mib(work) -> tuple[object, float]:
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_zip_bomb_stops_at_its_ratio_without_expanding():
    bomb = zip_of({"zeros.bin": bytes(300 * 2**20), "config/.env": ENV.encode()})
    assert len(bomb) < 2**20
    items, peak = _peak_mib(lambda: list(pieces(bomb, "bomb.zip")))
    found, skipped = split(items)
    assert skipped == [NotScanned("bomb.zip!zeros.bin", "archive bound reached: expands more than 100 times")]
    assert [p.path for p in found] == ["bomb.zip!config/.env"]  # the rest of the archive is still scanned
    assert peak < 8


def test_gzip_bomb_is_stopped_while_streaming():
    bomb = gzip.compress(bytes(50 * 2**20), compresslevel=9)  # about 50 KiB
    items, peak = _peak_mib(lambda: list(pieces(bomb, "dump.gz")))
    assert items == [NotScanned("dump.gz", "archive bound reached: expands more than 100 times")]
    assert peak < 16  # stopped near 100 times 50 KiB, not at 50 MiB


def test_header_that_lies_about_size_is_corrupt_not_expanded():
    bomb = bytearray(zip_of({"zeros.bin": bytes(50 * 2**20)}))
    central = bomb.rindex(b"PK\x01\x02")
    bomb[central + 24:central + 28] = (1000).to_bytes(4, "little")  # declared size: 1000 bytes
    [record] = pieces(bytes(bomb), "liar.zip")
    assert record.path == "liar.zip!zeros.bin" and record.reason.startswith("corrupt archive member")


def test_nested_bomb_shares_one_budget_per_input():
    layer = zip_of({f"part{i}.txt": b"x" * (2**20) for i in range(4)})  # 4 MiB at about 1000:1, under the floor
    nested = zip_of({f"layer{i}.zip": layer for i in range(10)})
    items, peak = _peak_mib(lambda: list(pieces(nested, "n.zip", Limits(max_total_bytes=10 * 2**20))))
    found, skipped = split(items)
    assert len(found) < 10
    assert skipped[-1].reason == f"archive bound reached: more than {10 * 2**20} bytes once decompressed"
    assert not skipped[-1].user_limit and len(skipped) == 1
    assert peak < 32


def test_member_count_bound():
    many = zip_of({f"f{i}.txt": b"hello" for i in range(50)})
    found, skipped = split(list(pieces(many, "many.zip", Limits(max_members=20))))
    assert len(found) == 20
    assert skipped == [NotScanned("many.zip", "archive bound reached: more than 20 members")]


def test_member_over_the_size_limit_is_listed_as_a_user_limit():
    big = zip_of({"big.log": random.Random(1).randbytes(4096), "small.env": ENV.encode()})
    found, skipped = split(list(pieces(big, "logs.zip", Limits(max_member_bytes=1024))))
    assert [p.path for p in found] == ["logs.zip!small.env"]
    assert skipped == [NotScanned("logs.zip!big.log", "larger than 1024 bytes", user_limit=True)]


def test_a_tar_of_headers_only_is_empty_not_corrupt():
    out = io.BytesIO()  # git archive writes one: a pax global header (the commit ID) and no member
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": ENV}):
        pass
    found, skipped = split(list(pieces(out.getvalue(), "empty.tar")))
    assert skipped == []
    assert [key_lines(p) for p in found] != [[]]  # its header's text is still read, as raw bytes


def _lying_tar(claimed: int) -> bytes:
    """A tar whose one member's header claims ``claimed`` bytes, followed by a few KiB and no more."""
    info = tarfile.TarInfo("huge")
    info.size = claimed
    return info.tobuf(tarfile.GNU_FORMAT) + ENV.encode() * 50


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress], ids=["tar", "tgz"])
def test_member_claiming_more_than_the_archive_holds_is_not_read_block_by_block(monkeypatch, compress):
    data = compress(_lying_tar(2**36))  # 64 GiB claimed: skipping it must not read 6.7 million empty blocks
    real_read, reads = archives._Metered.read, []

    def counted(self, size=-1):
        reads.append(size)
        assert len(reads) < 10_000, "the reader spins past the end of the archive"
        return real_read(self, size)

    monkeypatch.setattr(archives._Metered, "read", counted)
    skipped = split(list(pieces(data, "huge.tar")))[1]
    assert [s.path for s in skipped][-1] == "huge.tar" and skipped[-1].reason.startswith("corrupt archive")
    assert not skipped[-1].user_limit


TRUNCATED = {
    "truncated.zip": lambda: zip_of({"a.env": ENV.encode()})[:40],
    "truncated.tgz": lambda: tar_of({"a.env": ENV.encode() * 50})[:60],
    "truncated.xz": lambda: lzma.compress(ENV.encode())[:30],
}


@pytest.mark.parametrize("name", TRUNCATED)
def test_corrupt_archive_is_recorded_not_fatal(name):
    data = TRUNCATED[name]()
    skipped = split(list(pieces(data, name)))[1]
    assert [(s.path, s.user_limit) for s in skipped] == [(name, False)]
    assert skipped[0].reason.startswith("corrupt archive")


def test_corrupt_tar_is_also_scanned_as_its_bytes():
    data = tar_of({"a.txt": b"hello\n", "b.env": ENV.encode()}, "w")
    header = data.index(b"b.env")
    damaged = data[:header + 148] + b"XXXXXXXX" + data[header + 156:]  # the second header's checksum
    found, skipped = split(list(pieces(damaged, "backup.tar")))
    assert [s.path for s in skipped] == ["backup.tar"] and skipped[0].reason.startswith("corrupt archive")
    assert [(p.path, p.binary) for p in found] == [("backup.tar!a.txt", False), ("backup.tar", True)]
    assert key_lines(found[1]) != []


def test_damaged_header_inside_a_tgz_is_recorded():
    data = tar_of({"a.txt": b"hello\n", "b.env": ENV.encode()}, "w")
    header = data.index(b"b.env")
    damaged = gzip.compress(data[:header + 148] + b"XXXXXXXX" + data[header + 156:])
    found, skipped = split(list(pieces(damaged, "backup.tgz")))
    assert [p.path for p in found] == ["backup.tgz!a.txt"]
    assert [(s.path, s.reason) for s in skipped] == [
        ("backup.tgz", f"corrupt archive: unreadable header at offset {header}")]


def test_corrupt_member_is_recorded_and_the_others_scanned():
    archive = bytearray(zip_of({"broken.txt": b"some text " * 1000, "good.env": ENV.encode()}))
    start = archive.index(b"broken.txt") + len("broken.txt")
    archive[start + 5:start + 25] = bytes(20)  # damage the deflate stream
    found, skipped = split(list(pieces(bytes(archive), "mixed.zip")))
    assert [p.path for p in found] == ["mixed.zip!good.env"] and key_lines(found[0]) == [3]
    assert [s.path for s in skipped] == ["mixed.zip!broken.txt"]


def test_encrypted_member_is_recorded():
    archive = bytearray(zip_of({"secret.env": ENV.encode()}, zipfile.ZIP_STORED))
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = archive.index(signature) + flags_at
        archive[at] |= 1
    [record] = pieces(bytes(archive), "locked.zip")
    assert record == NotScanned("locked.zip!secret.env", "encrypted archive member")


def test_depth_zero_turns_archives_off():
    data = zip_of({"config/.env": ENV.encode()})
    items = list(pieces(data, "app.zip", Limits(archive_depth=0)))
    found, skipped = split(items)
    assert skipped == [NotScanned("app.zip", "archives are not opened (archive depth 0): only its raw bytes "
                                              "are scanned", user_limit=True)]
    assert [(p.path, p.binary) for p in found] == [("app.zip", True)] and found[0].data == data
    assert key_lines(found[0]) == []  # the deflated member stays unread


def test_archives_deeper_than_the_depth_are_listed():
    data = tar_of({"app.zip": zip_of({"config/.env": ENV.encode()})})
    found, skipped = split(list(pieces(data, "a.tgz", Limits(archive_depth=1))))
    assert [(s.path, s.user_limit) for s in skipped] == [("a.tgz!app.zip", True)]
    assert [p.path for p in found] == ["a.tgz!app.zip"] and found[0].binary
