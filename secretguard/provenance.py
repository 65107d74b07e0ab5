"""Where a chunk of bytes came from, one type per kind of place: a tagged union on ``kind``.

A source gives each chunk a provenance; the pipeline turns it into an :class:`~secretguard.findings.Origin`
(the location a report shows) once the source has refined its hits. A git blob travels as its blob id until
the source places it at the commit that introduced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from secretguard.findings import Origin


class Provenance(Protocol):
    """What every kind of place can do: say where it is in one line, and become a report location."""

    @property
    def kind(self) -> str: ...

    def describe(self) -> str: ...

    def origin(self) -> Origin: ...


@dataclass(frozen=True, slots=True)
class FileAt:
    """A file in a scanned directory, by its path relative to the scanned root (``repo``: a work tree's top)."""

    path: str
    repo: str | None = None
    kind: Literal["file"] = "file"

    def describe(self) -> str:
        return self.path

    def origin(self) -> Origin:
        return Origin(source="file", path=self.path, repo=self.repo)


@dataclass(frozen=True, slots=True)
class GitBlob:
    """A blob of a git repository, by id, and the path it was first seen at."""

    repo: str
    blob: str
    path: str
    kind: Literal["git"] = "git"

    def describe(self) -> str:
        return f"{self.path} (blob {self.blob[:10]})"

    def origin(self) -> Origin:
        return Origin(source="git", repo=self.repo, path=self.path)


@dataclass(frozen=True, slots=True)
class StagedBlob:
    """A file as staged in a work tree's index."""

    repo: str
    path: str
    kind: Literal["staged"] = "staged"

    def describe(self) -> str:
        return f"{self.path} (staged)"

    def origin(self) -> Origin:
        return Origin(source="staged", repo=self.repo, path=self.path)


@dataclass(frozen=True, slots=True)
class CloudResource:
    """A cloud resource's text: ``service`` names its kind (lambda, ecs); ``path`` a file it loads (an S3 URI)."""

    service: str
    resource: str
    region: str | None = None
    container: str | None = None
    path: str | None = None
    kind: Literal["cloud"] = "cloud"

    def describe(self) -> str:
        where = self.resource + (f" container {self.container}" if self.container else "")
        return where + (f" file {self.path}" if self.path else "")

    def origin(self) -> Origin:
        return Origin(source=self.service, resource=self.resource, region=self.region, container=self.container,
                      path=self.path)


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    """A member of an archive, itself somewhere: its location reads ``app.zip!config/.env``."""

    parent: Provenance
    member: str
    kind: Literal["archive"] = "archive"

    def describe(self) -> str:
        return f"{self.parent.describe()}!{self.member}"

    def origin(self) -> Origin:
        outer = self.parent.origin()
        container = outer.path or outer.resource or ""
        return Origin(**{**outer.to_dict(), "path": f"{container}!{self.member}"})


@dataclass(frozen=True, slots=True)
class Converted:
    """Text recovered from bytes that were not UTF-8 text: a binary's, or text in another encoding."""

    parent: Provenance
    binary: bool
    encoding: str | None
    kind: Literal["converted"] = "converted"

    def describe(self) -> str:
        return self.parent.describe()

    def origin(self) -> Origin:
        return Origin(**{**self.parent.origin().to_dict(), "binary": self.binary or None, "encoding": self.encoding})


def source_provenance(provenance: Provenance) -> Provenance:
    """The provenance a source gave, under any archive member or conversion the pipeline wrapped it in."""
    while isinstance(provenance, ArchiveMember | Converted):
        provenance = provenance.parent
    return provenance
