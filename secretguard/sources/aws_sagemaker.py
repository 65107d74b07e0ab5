"""SageMaker: the scripts of every notebook instance lifecycle configuration, and the container environments of
every training job and model.

A lifecycle configuration's ``OnCreate`` and ``OnStart`` scripts come back base64-encoded and are scanned as the
shell scripts they are. Training jobs are never changed after they ran, so an old job keeps the environment and
hyperparameters it was given after newer jobs no longer pass the secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from secretguard.provenance import CloudResource
from secretguard.sources.aws_items import Document, Environment, guarded, user_data_text, variables_of

SCRIPTS = ("OnCreate", "OnStart")


def lifecycle_configurations(sagemaker: Any, region: str) -> Iterator[Document]:
    """Each ``OnCreate`` and ``OnStart`` script of each notebook instance lifecycle configuration, decoded."""
    for page in sagemaker.get_paginator("list_notebook_instance_lifecycle_configs").paginate():
        for summary in page.get("NotebookInstanceLifecycleConfigs", []):
            config = sagemaker.describe_notebook_instance_lifecycle_config(
                NotebookInstanceLifecycleConfigName=summary["NotebookInstanceLifecycleConfigName"])
            arn = config.get("NotebookInstanceLifecycleConfigArn") or summary["NotebookInstanceLifecycleConfigArn"]
            for hook in SCRIPTS:
                for number, script in enumerate(config.get(hook) or []):
                    text, error = user_data_text(script.get("Content", ""))
                    yield Document(CloudResource("sagemaker", arn, region, path=f"{hook}[{number}]"), text, error)


def training_jobs(sagemaker: Any, region: str) -> Iterator[Environment]:
    """The ``Environment`` and ``HyperParameters`` of every training job."""
    for page in sagemaker.get_paginator("list_training_jobs").paginate():
        for summary in page.get("TrainingJobSummaries", []):
            job = sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"])
            values = [(f"{field}.{key}", value) for field in ("Environment", "HyperParameters")
                      for key, value in (job.get(field) or {}).items()]
            if values:
                yield Environment(CloudResource("sagemaker", job.get("TrainingJobArn") or summary["TrainingJobArn"],
                                                region), variables_of(values))


def models(sagemaker: Any, region: str) -> Iterator[Environment]:
    """The ``Environment`` of every container of every model."""
    for page in sagemaker.get_paginator("list_models").paginate():
        for summary in page.get("Models", []):
            model = sagemaker.describe_model(ModelName=summary["ModelName"])
            containers = [("PrimaryContainer", model.get("PrimaryContainer") or {})]
            containers += [(f"Containers[{n}]", c) for n, c in enumerate(model.get("Containers") or [])]
            for name, container in containers:
                if container.get("Environment"):
                    yield Environment(CloudResource("sagemaker", model.get("ModelArn") or summary["ModelArn"], region,
                                                    container=name), variables_of(container["Environment"].items()))


def read(client: Callable[[str], Any], region: str) -> Iterator[Environment | Document]:
    sagemaker = client("sagemaker")
    parts: tuple[tuple[str, Callable[[Any, str], Iterator[Environment | Document]]], ...] = (
        ("notebook lifecycle configurations", lifecycle_configurations), ("training jobs", training_jobs),
        ("models", models))
    for part, reader in parts:
        yield from guarded(CloudResource("sagemaker", f"sagemaker:{region} {part}", region), reader(sagemaker, region))
