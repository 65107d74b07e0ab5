"""``scan aws --services ecr``: every image's config (environment, command, labels, build history), downloaded
from the address AWS gives.

moto has no ``GetDownloadUrlForLayer``: a loopback stand-in answers it with a pre-signed-style HTTPS address on
an AWS host, and the download goes, as the product makes it, through the HTTPS proxy on 127.0.0.1 that serves
the config blobs (the ``packages`` fixture of the Lambda code tests).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import boto3
import pytest

from secretguard.aws.session import make_session
from secretguard.config import Config
from secretguard.pipeline import scan
from secretguard.sources.aws_ecr import config_values
from secretguard.sources.aws_env import AwsSource
from tests.aws_standin import JsonStandIn, stand_in  # noqa: F401  (stand_in is a fixture)
from tests.test_aws_kinds import REGION
from tests.test_aws_lambda_code import PackageServer, packages  # noqa: F401  (packages is a fixture)
from tests.test_aws_scan import PASSWORD, SENDGRID, _run_cli, at, run_scan

BLOB_HOST = f"prod-{REGION}-starport-layer-bucket.s3.{REGION}.amazonaws.com"


def image_config(env: list[str], run: str) -> bytes:
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin", *env], "Cmd": ["/app/start"],
                   "Labels": {"org.opencontainers.image.source": "https://git.example.com/web"}},
        "history": [{"created_by": "/bin/sh -c #(nop) ADD file:4a1b in / "}, {"created_by": f"/bin/sh -c {run}"}],
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]},
    }).encode()


class Registry:
    """Pushes images to the local ECR and serves their config blobs where ``GetDownloadUrlForLayer`` points."""

    def __init__(self, stand_in: JsonStandIn, blobs: PackageServer) -> None:
        self.ecr = boto3.client("ecr", region_name=REGION)
        self.blobs = blobs
        stand_in.answers["GetDownloadUrlForLayer"] = self._url

    def _url(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        digest = body["layerDigest"]
        return 200, {"layerDigest": digest, "downloadUrl": f"https://{BLOB_HOST}/{body['repositoryName']}/"
                                                          f"{digest}?X-Amz-Signature=0f"}

    def repository(self, name: str) -> str:
        return self.ecr.create_repository(repositoryName=name)["repository"]["repositoryArn"]

    def push(self, repository: str, tag: str | None, config: bytes, layer: str = "2") -> str:
        """Push an image whose config is ``config`` (untagged if ``tag`` is None); returns the image's digest."""
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        self.blobs.files[f"/{repository}/{config_digest}"] = config
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                       "digest": config_digest},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1,
                        "digest": "sha256:" + layer * 64}]})
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        self.ecr.put_image(repositoryName=repository, imageManifest=manifest, imageDigest=digest,
                           **({"imageTag": tag} if tag else {}))
        return digest

    def downloads(self) -> list[str]:
        return [request for request in self.blobs.requests if request.startswith(BLOB_HOST)]


@pytest.fixture
def registry(stand_in: JsonStandIn, packages: PackageServer) -> Registry:  # noqa: F811
    return Registry(stand_in, packages)


def test_an_old_image_keeps_its_secrets_and_each_config_blob_is_fetched_once(
        registry: Registry, stand_in: JsonStandIn) -> None:  # noqa: F811
    web = registry.repository("web")
    leaky = image_config([f"DB_PASSWORD={PASSWORD}"], f"curl -H 'Authorization: Bearer {SENDGRID}' https://x.test/")
    old = registry.push("web", "v1", leaky)  # (moto drops an image a moved tag leaves untagged; ECR keeps it)
    registry.push("web", "latest", image_config(["MODE=prod"], "apk add curl"), layer="3")
    mirror = registry.repository("web-mirror")
    copy = registry.push("web-mirror", "2024-06", leaky, layer="4")  # another image, the same config blob

    result = run_scan(services=("ecr",))

    images = [f"{mirror}@{copy} (2024-06)", f"{web}@{old} (v1)"]
    assert sorted((o.resource, o.variable) for o in at(result.findings, PASSWORD)) == \
        [(image, "config.Env[1]") for image in images]
    assert sorted((o.resource, o.variable) for o in at(result.findings, SENDGRID)) == \
        [(image, "history[1].created_by") for image in images]
    assert len(registry.downloads()) == 2 == stand_in.calls.count("GetDownloadUrlForLayer")  # two unique blobs
    assert result.summary.unreadable == ()


def test_ecr_images_reads_only_the_newest_per_repository(registry: Registry, capsys) -> None:
    registry.repository("web")
    registry.push("web", "v1", image_config([f"SENDGRID_API_KEY={SENDGRID}"], "true"))
    time.sleep(1.1)  # ECR records push times to the second
    registry.push("web", "v2", image_config(["MODE=prod"], "true"), layer="3")

    newest = scan(AwsSource(make_session(), [REGION], ["ecr"], ecr_images=1), Config())
    assert newest.findings == [] and len(registry.downloads()) == 1
    assert _run_cli(["scan", "aws", "--region", REGION, "--services", "ecr", "--format", "json"]) == 1

    assert _run_cli(["scan", "aws", "--region", REGION, "--services", "ecr", "--ecr-images", "0"]) == 2
    assert "--ecr-images" in capsys.readouterr().err


def test_a_config_blob_that_cannot_be_downloaded_is_named(registry: Registry) -> None:
    web = registry.repository("web")
    digest = registry.push("web", "latest", image_config([], "true"))
    registry.blobs.files.clear()

    result = run_scan(services=("ecr",))

    [(what, reason)] = result.summary.unreadable
    assert what.startswith(f"{web}@{digest} (latest)") and "download failed" in reason


def test_config_values_are_named_by_their_path() -> None:
    config = {"config": {"Env": ["A=1"], "Labels": {"team": "web"}, "ExposedPorts": {"80/tcp": {}}},
              "history": [{"created_by": "RUN x", "empty_layer": True}], "rootfs": {"diff_ids": ["sha256:1"]}}
    assert list(config_values(config)) == [
        ("config.Env[0]", "A=1"), ("config.Labels.team", "web"), ("history[0].created_by", "RUN x")]


def test_the_platform_images_of_an_index_are_read_under_the_index_s_tag(registry: Registry) -> None:
    web = registry.repository("web")
    platform = registry.push("web", None, image_config([f"DB_PASSWORD={PASSWORD}"], "true"))
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1, "digest": platform,
         "platform": {"architecture": "amd64", "os": "linux"}}]})
    registry.ecr.put_image(repositoryName="web", imageManifest=index, imageTag="multi",
                           imageDigest="sha256:" + hashlib.sha256(index.encode()).hexdigest())

    result = run_scan(services=("ecr",))

    assert [(o.resource, o.variable) for o in at(result.findings, PASSWORD)] == \
        [(f"{web}@{platform} (multi)", "config.Env[1]")]
