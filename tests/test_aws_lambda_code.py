"""``scan aws --services lambda-code``: every function version's package, downloaded from the address AWS gives.

moto answers ``GetFunction`` with a pre-signed-style HTTPS address on an AWS host it does not serve. The product
downloads it as given; the test routes that download through an HTTPS proxy on 127.0.0.1 (``HTTPS_PROXY``) that
answers for the host with a certificate from a throwaway CA the test trusts (``SSL_CERT_FILE``).
"""

from __future__ import annotations

import datetime
import io
import socket
import ssl
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.test_aws_scan import SENDGRID, at, make_function, run_scan

REGION = "us-east-1"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


class PackageServer:
    """An HTTPS proxy on loopback that serves registered paths for any host, as that host."""

    def __init__(self, workdir: Path) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self.ca = (x509.CertificateBuilder().subject_name(_name("test CA")).issuer_name(_name("test CA"))
                   .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(self.key, hashes.SHA256()))
        self.workdir = workdir
        self.ca_file = workdir / "ca.pem"
        self.ca_file.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _context(self, host: str) -> ssl.SSLContext:
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(self.ca.subject)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .sign(self.key, hashes.SHA256()))
        pem = self.workdir / f"{host}.pem"
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pem)
        return context

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            request = conn.recv(65536).decode("latin-1")
            target = request.split(" ", 2)[1]  # CONNECT host:443 HTTP/1.1
            host = target.rsplit(":", 1)[0]
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self._context(host).wrap_socket(conn, server_side=True) as tls:
                path = urlsplit(tls.recv(65536).decode("latin-1").split(" ", 2)[1]).path
                self.requests.append(f"{host}{path}")
                body = self.files.get(path)
                status = b"200 OK" if body is not None else b"404 Not Found"
                body = body if body is not None else b"no such key"
                tls.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                            + body)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def packages(aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PackageServer]:
    server = PackageServer(tmp_path)
    for var in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(var, server.address)
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
    yield server
    server.close()


def package(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_every_version_s_package_is_scanned_and_each_package_downloaded_once(packages: PackageServer) -> None:
    """moto keeps one code record for all versions of a function (every version answers with the newest
    package's address and differs only in ``CodeSha256``), so the versions here share one package: what is
    checked is that every version is listed, each unique package fetched once from the address given, and a
    finding in it reported at every version that has it."""
    lambda_ = boto3.client("lambda", region_name=REGION)
    leaky = package({"handler.py": "def handle(e, c):\n    return 1\n",
                     "config/settings.py": f"SENDGRID_API_KEY = '{SENDGRID}'\n"})
    arn = make_function("billing", {})
    lambda_.update_function_code(FunctionName="billing", ZipFile=leaky, Publish=True)  # $LATEST and version 1
    location = lambda_.get_function(FunctionName="billing", Qualifier="1")["Code"]["Location"]
    packages.files[urlsplit(location).path] = leaky

    result = run_scan(services=("lambda-code",))

    places = sorted((o.resource or "", o.path, o.line) for o in at(result.findings, SENDGRID))
    assert places == [(f"{arn}:$LATEST", "code!config/settings.py", 1), (f"{arn}:1", "code!config/settings.py", 1)]
    assert result.summary.unreadable == ()
    assert packages.requests == [urlsplit(location).netloc + urlsplit(location).path]  # one package, once


def test_a_package_that_cannot_be_downloaded_is_named_not_passed_over(packages: PackageServer) -> None:
    arn = make_function("orders", {})  # its package is registered nowhere: the proxy answers 404

    result = run_scan(services=("lambda-code",))

    assert result.findings == []
    [(what, reason)] = result.summary.unreadable
    assert f"{arn}:$LATEST" in what and "download failed" in reason
