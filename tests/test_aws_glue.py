"""``scan aws --services glue``: job arguments, the arguments each run started with, and connection passwords."""

from __future__ import annotations

import boto3

from tests.aws_standin import JsonStandIn, refused, stand_in  # noqa: F401  (stand_in is a fixture)
from tests.test_aws_kinds import REGION, role_arn
from tests.test_aws_scan import PASSWORD, SENDGRID, at, run_scan

CONNECTION_PASSWORD = "Zq8!vN3#pLw6Rt2m"


def make_job() -> str:
    boto3.client("glue", region_name=REGION).create_job(
        Name="nightly-etl", Role=role_arn(), Command={"Name": "glueetl", "ScriptLocation": "s3://etl/job.py"},
        DefaultArguments={"--sendgrid_api_key": SENDGRID, "--job-language": "python"},
        NonOverridableArguments={"--env": "prod"})
    return f"glue:{REGION}:job/nightly-etl"


def test_job_arguments_a_past_run_s_arguments_and_connection_passwords(aws) -> None:
    glue = boto3.client("glue", region_name=REGION)
    job = make_job()
    run = glue.start_job_run(JobName="nightly-etl", Arguments={"--db_password": PASSWORD})["JobRunId"]
    glue.start_job_run(JobName="nightly-etl", Arguments={"--db_password": PASSWORD})  # same arguments: read once
    glue.create_connection(ConnectionInput={"Name": "warehouse", "ConnectionType": "JDBC", "ConnectionProperties": {
        "JDBC_CONNECTION_URL": "jdbc:postgresql://db.internal:5432/dw", "USERNAME": "etl",
        "PASSWORD": CONNECTION_PASSWORD}})

    result = run_scan(services=("glue",))

    # moto copies a job's default arguments into each run's, so the run is a further place here
    places = [(o.resource, o.variable) for o in at(result.findings, SENDGRID)]
    assert (job, "DefaultArguments.--sendgrid_api_key") in places
    [past] = at(result.findings, PASSWORD)  # only the run has it: the job's own arguments never did
    assert (past.resource, past.variable) == (f"{job} run {run}", "Arguments.--db_password")
    [connection] = at(result.findings, CONNECTION_PASSWORD)
    assert (connection.resource, connection.variable) == \
        (f"glue:{REGION}:connection/warehouse", "ConnectionProperties.PASSWORD")


def test_connections_refused_are_named_with_the_call_and_jobs_are_still_read(stand_in: JsonStandIn) -> None:
    job = make_job()
    stand_in.answers["GetConnections"] = refused("glue:GetConnections")

    result = run_scan(services=("glue",))

    assert job in [o.resource for o in at(result.findings, SENDGRID)]
    assert result.summary.unreadable == ((f"glue:{REGION} connections", "document not readable: GetConnections: "
                                          "AccessDeniedException: User is not authorized to perform: "
                                          "glue:GetConnections"),)
