#!/usr/bin/env python3
"""What ``aws respond`` costs on this machine, apart from AWS: loading the IAM action database and the verdict
for each kind of user, and the event summary of one LookupEvents page.

CloudTrail itself is not timed: LookupEvents answers 2 requests per second with 50 events each, so reading a
region costs 0.5 s per 50 events (100 events a second), whatever the machine.

    python benchmarks/bench_respond.py [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import statistics
import time
from typing import Any


def _timed(runs: int, action: Any) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    start = time.perf_counter()
    from secretguard.aws.respond_policy import NamedPolicy, analyse
    from secretguard.aws.respond_trail import Classifier, _event

    analyse([NamedPolicy("warm-up", {"Statement": []})])
    print(f"first use (imports, IAM action database): {time.perf_counter() - start:.2f} s")

    users = {
        "administrator (Action * on *)": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        "privilege escalation (PassRole + Lambda)": [
            {"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
             "Resource": "*"}],
        "data access (s3:*, secretsmanager:Get*)": [
            {"Effect": "Allow", "Action": ["s3:*", "secretsmanager:Get*"], "Resource": ["arn:aws:s3:::data/*"]}],
        "read-only (ec2:Describe*, s3:List*)": [
            {"Effect": "Allow", "Action": ["ec2:Describe*", "s3:List*"], "Resource": "*"}],
    }
    for name, statements in users.items():
        policy = [NamedPolicy("inline p", {"Version": "2012-10-17", "Statement": statements})]
        seconds = _timed(runs, lambda: analyse(policy))  # noqa: B023 - timed at once
        print(f"verdict, {name}: {seconds * 1000:.0f} ms ({analyse(policy).verdict})")

    classifier = Classifier()
    now = datetime.datetime.now(datetime.UTC)
    page = [{"EventName": name, "EventSource": source, "EventTime": now,
             "CloudTrailEvent": json.dumps({"sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15",
                                            "awsRegion": "us-east-1"})}
            for name, source in [("GetObject", "s3.amazonaws.com"), ("CreateAccessKey", "iam.amazonaws.com"),
                                 ("DescribeInstances", "ec2.amazonaws.com")] * 17][:50]
    seconds = _timed(runs, lambda: [_event(raw, classifier) for raw in page])
    print(f"summary of one 50-event page: {seconds * 1000:.1f} ms (the page itself takes 500 ms to be allowed)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
