"""Glue: each job's default and non-overridable arguments, the arguments each of its runs was started with, and
each connection's properties.

Glue keeps no history of a job's definition, but it keeps its runs: a password passed to ``StartJobRun`` (or
set in a job's arguments when the run began) stays in that run's ``Arguments``. Runs with the same arguments
are read once, at the first of them AWS lists. Connections are read with their passwords (``HidePassword``
false): a password in ``ConnectionProperties`` is exactly the plaintext to find.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, Environment, guarded, variables_of

JOB_ARGUMENTS = ("DefaultArguments", "NonOverridableArguments")
CONNECTION_PROPERTIES = ("ConnectionProperties", "SparkProperties", "AthenaProperties", "PythonProperties")


def _named(record: dict[str, Any], fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """Each value of the ``fields`` maps of ``record``, named ``Field.key``."""
    return [(f"{name}.{key}", value) for name in fields for key, value in (record.get(name) or {}).items()]


def _runs(glue: Any, job: str, origin: CloudResource) -> Iterator[Environment]:
    """The arguments of the job's runs, each set of arguments once (at the first run listed with it)."""
    seen: set[tuple[tuple[str, str], ...]] = set()
    for page in glue.get_paginator("get_job_runs").paginate(JobName=job):
        for run in page.get("JobRuns", []):
            variables = variables_of(_named(run, ("Arguments",)))
            if variables and variables not in seen:
                seen.add(variables)
                yield Environment(CloudResource("glue", f"{origin.resource} run {run.get('Id')}", origin.region),
                                  variables)


def jobs(glue: Any, region: str) -> Iterator[Environment | Document]:
    for page in glue.get_paginator("get_jobs").paginate():
        for job in page.get("Jobs", []):
            origin = CloudResource("glue", f"glue:{region}:job/{job['Name']}", region)
            arguments = _named(job, JOB_ARGUMENTS)
            if arguments:
                yield Environment(origin, variables_of(arguments))
            yield from guarded(origin, _runs(glue, job["Name"], origin))


def connections(glue: Any, region: str) -> Iterator[Environment]:
    for page in glue.get_paginator("get_connections").paginate(HidePassword=False):
        for connection in page.get("ConnectionList", []):
            properties = _named(connection, CONNECTION_PROPERTIES)
            if properties:
                yield Environment(CloudResource("glue", f"glue:{region}:connection/{connection['Name']}", region),
                                  variables_of(properties))


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment | Document]:
    glue = client("glue")
    yield from guarded(CloudResource("glue", f"glue:{region} jobs", region), jobs(glue, region))
    yield from guarded(CloudResource("glue", f"glue:{region} connections", region), connections(glue, region))
