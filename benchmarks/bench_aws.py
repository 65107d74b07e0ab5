#!/usr/bin/env python3
"""``scan aws`` against a filled local AWS API (moto in server mode on 127.0.0.1): wall time, API calls by
operation, and peak RSS.

Fills one region with Lambda functions of several published versions, launch templates with many versions,
SSM parameters with history, CloudFormation stacks, and Glue jobs with runs and connections, then runs the scan
as the library does for ``secretguard scan aws --services lambda,ssm,ec2,cloudformation,glue``, counting every
call botocore makes. Package and image config downloads (``lambda-code``, ``ecr``) are left out: moto's download
addresses point at AWS; so are Step Functions versions and SageMaker lifecycle configurations, which moto lacks.

    python benchmarks/bench_aws.py [--functions 300] [--versions 4] [--templates 20] [--template-versions 10]
                                   [--parameters 500] [--stacks 50] [--glue-jobs 50] [--job-runs 5]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import resource
import socket
import time
import zipfile
from collections import Counter

import boto3

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tiny_zip(n: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", f"def handle(event, context):\n    return {n}\n")
    return buffer.getvalue()


def fill(args: argparse.Namespace) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_ = boto3.client("lambda", region_name=REGION)
    for f in range(args.functions):
        name = f"fn-{f}"
        lambda_.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handle",
                                Code={"ZipFile": tiny_zip(f)}, Environment={"Variables": {"STAGE": "prod"}})
        for v in range(args.versions):
            lambda_.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": f"v{v}"}})
            lambda_.publish_version(FunctionName=name)
    ec2 = boto3.client("ec2", region_name=REGION)
    for t in range(args.templates):
        name = f"template-{t}"
        ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={
            "UserData": base64.b64encode(b"#!/bin/sh\necho 0\n").decode()})
        for v in range(1, args.template_versions):
            ec2.create_launch_template_version(LaunchTemplateName=name, LaunchTemplateData={
                "UserData": base64.b64encode(f"#!/bin/sh\necho {v}\n".encode()).decode()})
    ssm = boto3.client("ssm", region_name=REGION)
    for p in range(args.parameters):
        ssm.put_parameter(Name=f"/bench/p{p}", Value="a", Type="String")
        ssm.put_parameter(Name=f"/bench/p{p}", Value="b", Type="String", Overwrite=True)
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    template = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"O": {"Value": "x"}}})
    for s in range(args.stacks):
        cloudformation.create_stack(StackName=f"stack-{s}", TemplateBody=template)
    glue = boto3.client("glue", region_name=REGION)
    for j in range(args.glue_jobs):
        glue.create_job(Name=f"job-{j}", Role=role, Command={"Name": "glueetl", "ScriptLocation": "s3://b/job.py"},
                        DefaultArguments={"--stage": "prod"})
        glue.create_connection(ConnectionInput={"Name": f"db-{j}", "ConnectionType": "JDBC", "ConnectionProperties": {
            "JDBC_CONNECTION_URL": "jdbc:postgresql://db:5432/x", "USERNAME": "etl", "PASSWORD": "a"}})
        for r in range(args.job_runs):
            glue.start_job_run(JobName=f"job-{j}", Arguments={"--day": str(r)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--functions", type=int, default=300)
    parser.add_argument("--versions", type=int, default=4)
    parser.add_argument("--templates", type=int, default=20)
    parser.add_argument("--template-versions", type=int, default=10)
    parser.add_argument("--parameters", type=int, default=500)
    parser.add_argument("--stacks", type=int, default=50)
    parser.add_argument("--glue-jobs", type=int, default=50)
    parser.add_argument("--job-runs", type=int, default=5)
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update({"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION})
    try:
        started = time.perf_counter()
        fill(args)
        print(f"filled the local account in {time.perf_counter() - started:.1f} s")

        from secretguard.aws.session import make_session
        from secretguard.config import Config
        from secretguard.pipeline import scan
        from secretguard.sources.aws_env import AwsSource

        session = make_session(None)
        calls: Counter[str] = Counter()
        session.events.register("before-call", lambda model, **_: calls.update([model.name]))
        services = ["lambda", "ssm", "ec2", "cloudformation", "glue"]
        started = time.perf_counter()
        result = scan(AwsSource(session, [REGION], services), Config())
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"scan aws --services {','.join(services)}: {elapsed:.1f} s wall, {result.summary.scanned} resources "
              f"scanned, {len(result.findings)} findings, peak RSS {peak:.0f} MB (this process, moto included)")
        print(f"API calls: {sum(calls.values())}")
        for operation, count in sorted(calls.items(), key=lambda kv: -kv[1]):
            print(f"  {operation:36} {count}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
