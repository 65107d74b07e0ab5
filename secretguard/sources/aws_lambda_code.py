"""Lambda code: the deployment package of every function version and the content of every layer version.

Each unique package (by ``CodeSha256``) is downloaded once, from the address AWS gives (``GetFunction`` or
``GetLayerVersion``, a pre-signed S3 URL), in the worker that scans it; its members are scanned as any
archive's. A finding in a package that several versions share is reported at each of them. A layer that no
function uses any more is read too: its old versions are still downloadable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources import Chunk
from secretguard.sources.aws_items import download

MAX_PACKAGE_BYTES = 256 * 1024 * 1024
"""Lambda's own limit on a package's unzipped size is 250 MB, so no real package is larger zipped."""


@dataclass(frozen=True, slots=True)
class Package:
    """One unique deployment package or layer content: where to download it, and every version that has it."""

    origin: CloudResource
    url: str
    size: int
    sha256: str
    sharing: tuple[str, ...] = ()
    """Further versions (ARNs) whose package is the same bytes."""
    error: str | None = None
    noun = "package"

    def chunk(self) -> Chunk:
        """The package's bytes, downloaded now (in the worker that scans it), through the proxy the environment
        names now (``HTTPS_PROXY``), if any."""
        return Chunk(download(self.url, MAX_PACKAGE_BYTES), self.origin)


def _qualified(arn: str, version: str) -> str:
    return arn if arn.endswith(f":{version}") else f"{arn}:{version}"


def function_packages(lambda_: Any, region: str, seen: dict[str, list[str]]) -> Iterator[Package]:
    """The package of every function version, ``$LATEST`` included; a package already seen adds its version
    to ``seen`` instead."""
    for page in lambda_.get_paginator("list_functions").paginate(FunctionVersion="ALL"):
        for fn in page.get("Functions", []):
            if fn.get("PackageType", "Zip") != "Zip":
                continue  # a container image: its layers live in ECR
            version = fn.get("Version", "$LATEST")
            arn = _qualified(fn["FunctionArn"], version)
            sha = fn.get("CodeSha256", arn)
            if sha in seen:
                seen[sha].append(arn)
                continue
            seen[sha] = []
            code = lambda_.get_function(FunctionName=fn["FunctionName"], Qualifier=version)["Code"]
            location = code.get("Location", "")
            yield Package(CloudResource("lambda", arn, region, path="code"), location, int(fn.get("CodeSize", 0)), sha)


def layer_packages(lambda_: Any, region: str, seen: dict[str, list[str]]) -> Iterator[Package]:
    """The content of every version of every layer in the region."""
    for page in lambda_.get_paginator("list_layers").paginate():
        for layer in page.get("Layers", []):
            name = layer["LayerName"]
            for versions in lambda_.get_paginator("list_layer_versions").paginate(LayerName=name):
                for version in versions.get("LayerVersions", []):
                    arn = version["LayerVersionArn"]
                    content = lambda_.get_layer_version(LayerName=name, VersionNumber=version["Version"])["Content"]
                    sha = content.get("CodeSha256", arn)
                    if sha in seen:
                        seen[sha].append(arn)
                        continue
                    seen[sha] = []
                    yield Package(CloudResource("lambda", arn, region, path="content"), content.get("Location", ""),
                                  int(content.get("CodeSize", 0)), sha)


def read(client: Callable[[str], Any], region: str) -> Iterator[Package]:
    """Every unique package of the region's function versions and layer versions, with the versions sharing it."""
    lambda_ = client("lambda")
    seen: dict[str, list[str]] = {}
    packages = [*function_packages(lambda_, region, seen), *layer_packages(lambda_, region, seen)]
    for package in packages:
        yield replace(package, sharing=tuple(seen[package.sha256]))
