"""``scan aws --services sagemaker``: lifecycle scripts (base64, decoded), and what past training jobs and models
were given.

moto has no ``ListNotebookInstanceLifecycleConfigs``; a loopback stand-in answers it with the configurations the
test created, and moto serves each one's scripts.
"""

from __future__ import annotations

import base64
from typing import Any

import boto3

from tests.aws_standin import JsonStandIn, stand_in  # noqa: F401  (stand_in is a fixture)
from tests.test_aws_kinds import REGION, role_arn
from tests.test_aws_scan import PASSWORD, SENDGRID, at, run_scan

MODEL_TOKEN = "Zq8!vN3#pLw6Rt2m"


def training_job(name: str, hyperparameters: dict[str, str]) -> str:
    return boto3.client("sagemaker", region_name=REGION).create_training_job(
        TrainingJobName=name, RoleArn=role_arn(), HyperParameters=hyperparameters,
        AlgorithmSpecification={"TrainingImage": "train:1", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://models/out"}, StoppingCondition={"MaxRuntimeInSeconds": 60},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1})["TrainingJobArn"]


def test_lifecycle_scripts_an_old_training_job_and_model_environments(stand_in: JsonStandIn) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    script = f"#!/bin/bash\nset -e\necho 'export SENDGRID_API_KEY={SENDGRID}' >> /etc/profile.d/app.sh\n"
    config = sagemaker.create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="research",
        OnCreate=[{"Content": base64.b64encode(b"pip install x").decode()}],
        OnStart=[{"Content": base64.b64encode(script.encode()).decode()}])["NotebookInstanceLifecycleConfigArn"]
    listed = [{"NotebookInstanceLifecycleConfigName": "research", "NotebookInstanceLifecycleConfigArn": config}]

    def configs(_: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"NotebookInstanceLifecycleConfigs": listed}
    stand_in.answers["ListNotebookInstanceLifecycleConfigs"] = configs
    old = training_job("churn-2024", {"db_password": PASSWORD, "epochs": "10"})
    training_job("churn-2025", {"epochs": "12"})  # the newer job no longer passes it
    model = sagemaker.create_model(ModelName="churn", ExecutionRoleArn=role_arn(), PrimaryContainer={
        "Image": "serve:1", "Environment": {"API_TOKEN": MODEL_TOKEN}})["ModelArn"]

    result = run_scan(services=("sagemaker",))

    [lifecycle] = at(result.findings, SENDGRID)
    assert (lifecycle.resource, lifecycle.path, lifecycle.line) == (config, "OnStart[0]", 3)
    [training] = at(result.findings, PASSWORD)
    assert (training.resource, training.variable) == (old, "HyperParameters.db_password")
    [serving] = at(result.findings, MODEL_TOKEN)
    assert (serving.resource, serving.container, serving.variable) == (model, "PrimaryContainer", "API_TOKEN")
    assert result.summary.unreadable == ()
