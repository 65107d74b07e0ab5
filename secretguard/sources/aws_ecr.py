"""ECR: the config of every image in every repository: its environment, command, entrypoint, labels and the
build history (each ``RUN`` line, as ``history[N].created_by``).

Every image is read by default, tagged or not (an image the ``latest`` tag left behind keeps its secrets), or
the newest ``newest`` per repository. Each manifest comes from ``BatchGetImage`` (an index's platform images
too); each unique config blob (by digest) is downloaded once, from the address ``GetDownloadUrlForLayer``
gives, in the worker that scans it. A finding in a config that several images share is reported at each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources import Chunk, Unreadable
from secretguard.sources.aws_items import Document, Environment, download, guarded, variables_of

MANIFEST_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
]
BATCH = 100
"""BatchGetImage takes at most this many image IDs."""
MAX_CONFIG_BYTES = 16 * 1024 * 1024
"""An image config is a few kilobytes; one this large is not read."""


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """One unique image config blob: where to download it, and every further image that has it."""

    origin: CloudResource
    url: str
    size: int
    digest: str
    sharing: tuple[str, ...] = ()
    """Further images (as their locations name them) whose config is the same blob."""
    error: str | None = None
    noun = "image config"

    def chunk(self) -> Chunk:
        """The config's strings as ``path=value`` lines, downloaded now (in the worker that scans it)."""
        try:
            config = json.loads(download(self.url, MAX_CONFIG_BYTES))
        except ValueError:
            raise Unreadable("the image config is not JSON") from None
        return Environment(self.origin, variables_of(config_values(config))).chunk()


def config_values(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in an image config, named by its path (``config.Env[3]``, ``history[2].created_by``); the
    layer digests under ``rootfs`` are left out."""
    if isinstance(node, dict):
        for key, value in node.items():
            if path or key != "rootfs":
                yield from config_values(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for number, value in enumerate(node):
            yield from config_values(value, f"{path}[{number}]")
    elif isinstance(node, str) and node:
        yield path, node


def _newest_first(ecr: Any, repository: str, newest: int | None) -> dict[str, tuple[str, ...]]:
    """The tags of each image of the repository (by digest), newest push first; the newest ``newest`` only, if given."""
    details = [d for page in ecr.get_paginator("describe_images").paginate(repositoryName=repository)
               for d in page.get("imageDetails", [])]
    details.sort(key=lambda d: d["imagePushedAt"].timestamp() if d.get("imagePushedAt") else 0.0, reverse=True)
    chosen = details[:newest] if newest else details
    return {d["imageDigest"]: tuple(d.get("imageTags", [])) for d in chosen}


def _manifests(ecr: Any, repository: str, digests: list[str]) -> Iterator[tuple[str, dict[str, Any] | None, str]]:
    """(digest, manifest, "") for each image, or (digest, None, why) for one ECR could not give."""
    for start in range(0, len(digests), BATCH):
        answer = ecr.batch_get_image(repositoryName=repository, acceptedMediaTypes=MANIFEST_TYPES,
                                     imageIds=[{"imageDigest": d} for d in digests[start:start + BATCH]])
        for image in answer.get("images", []):
            digest = image["imageId"]["imageDigest"]
            try:
                yield digest, json.loads(image.get("imageManifest") or "{}"), ""
            except ValueError:
                yield digest, None, "BatchGetImage: the manifest is not JSON"
        for failure in answer.get("failures", []):
            yield (failure.get("imageId", {}).get("imageDigest", "?"), None,
                   f"BatchGetImage: {failure.get('failureCode')}: {failure.get('failureReason')}")


def image_name(repository_arn: str, digest: str, tags: tuple[str, ...]) -> str:
    """An image as a location names it: ``arn:aws:ecr:…:repository/web@sha256:… (latest, v2)``."""
    return f"{repository_arn}@{digest}" + (f" ({', '.join(tags)})" if tags else "")


def _all_manifests(ecr: Any, repository: str, tags: dict[str, tuple[str, ...]]
                   ) -> dict[str, tuple[dict[str, Any] | None, str]]:
    """The manifest (or why there is none) of each image in ``tags`` and of each platform image of an index
    among them; a platform image without tags of its own takes the index's into ``tags``."""
    manifests: dict[str, tuple[dict[str, Any] | None, str]] = {}
    pending = list(tags)
    while pending:
        batch = [digest for digest in dict.fromkeys(pending) if digest not in manifests]
        pending = []
        for digest, manifest, failure in _manifests(ecr, repository, batch):
            manifests[digest] = manifest, failure
            for entry in (manifest or {}).get("manifests", []):
                if entry.get("digest"):
                    tags[entry["digest"]] = tags.get(entry["digest"]) or tags.get(digest, ())
                    pending.append(entry["digest"])
    return manifests


def repository_configs(ecr: Any, repository: dict[str, Any], region: str, newest: int | None,
                       seen: dict[str, list[str]]) -> Iterator[ImageConfig | Document]:
    """The config of every image of the repository (the platform images of an index under the index's tags);
    a config blob already in ``seen`` adds the image to it instead."""
    name, arn = repository["repositoryName"], repository["repositoryArn"]
    tags = _newest_first(ecr, name, newest)
    for digest, (manifest, failure) in _all_manifests(ecr, name, tags).items():
        where = CloudResource("ecr", image_name(arn, digest, tags.get(digest, ())), region)
        if manifest is None:
            yield Document(where, "", failure)
            continue
        config = manifest.get("config") or {}
        if not config.get("digest"):
            if not manifest.get("manifests"):
                yield Document(where, "", f"a manifest of schema {manifest.get('schemaVersion')} names no image config")
            continue
        if config["digest"] in seen:
            seen[config["digest"]].append(where.resource)
            continue
        seen[config["digest"]] = []
        url = ecr.get_download_url_for_layer(repositoryName=name, layerDigest=config["digest"])["downloadUrl"]
        yield ImageConfig(where, url, int(config.get("size", 0)), config["digest"])


def images(ecr: Any, region: str, newest: int | None, seen: dict[str, list[str]]) -> Iterator[ImageConfig | Document]:
    for page in ecr.get_paginator("describe_repositories").paginate():
        for repository in page.get("repositories", []):
            yield from guarded(CloudResource("ecr", repository["repositoryArn"], region),
                               repository_configs(ecr, repository, region, newest, seen))


def read(client: Callable[[str], Any], region: str, newest: int | None = None) -> Iterator[ImageConfig | Document]:
    """Every unique image config of the region's repositories, with the further images sharing it."""
    seen: dict[str, list[str]] = {}
    found = list(guarded(CloudResource("ecr", f"ecr:{region} repositories", region),
                         images(client("ecr"), region, newest, seen)))
    for item in found:
        yield replace(item, sharing=tuple(seen[item.digest])) if isinstance(item, ImageConfig) else item
