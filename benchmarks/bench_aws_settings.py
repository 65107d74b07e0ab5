#!/usr/bin/env python3
"""``scan aws`` over App Runner, Amplify and Elastic Beanstalk, served by the tests' loopback stand-ins: wall time,
API calls by operation and peak RSS; and what deciding which regions offer each service costs for --all-regions.

    python benchmarks/bench_aws_settings.py [--services 200] [--apps 50] [--branches 10] [--environments 100]
                                            [--templates 100] [--options 120]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.aws_services import REGION, Amplify, AppRunner, Beanstalk  # noqa: E402


def fill(args: argparse.Namespace, apprunner: AppRunner, amplify: Amplify, beanstalk: Beanstalk) -> None:
    variables = {f"SETTING_{n}": f"value-{n}" for n in range(20)}
    for s in range(args.services):
        image = {"ImageConfiguration": {"RuntimeEnvironmentVariables": variables}}
        apprunner.add(f"svc-{s}", {"ImageRepository": image})
    for a in range(args.apps):
        app = amplify.add_app(f"app-{a}", environmentVariables=variables, buildSpec="version: 1\n" * 40)
        for b in range(args.branches):
            amplify.add_branch(app, f"branch-{b}", environmentVariables=variables)
    options = {f"aws:elasticbeanstalk:application:environment:OPTION_{n}": f"value-{n}" for n in range(args.options)}
    for e in range(args.environments):
        beanstalk.add_environment("shop", f"env-{e}", options)
    for t in range(args.templates):
        beanstalk.add_template("shop", f"template-{t}", options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--apps", type=int, default=50)
    parser.add_argument("--branches", type=int, default=10)
    parser.add_argument("--environments", type=int, default=100)
    parser.add_argument("--templates", type=int, default=100)
    parser.add_argument("--options", type=int, default=120)
    args = parser.parse_args()

    stand_ins = (AppRunner(), Amplify(), Beanstalk())
    for stand_in, size in zip(stand_ins, (20, 50, 1000), strict=True):  # each API's largest page
        stand_in.page_size = size
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION,
                       "AWS_ENDPOINT_URL": "http://127.0.0.1:9", **{s.env: s.url for s in stand_ins}})
    try:
        fill(args, *stand_ins)
        from secretguard.aws.session import make_session
        from secretguard.config import Config
        from secretguard.pipeline import scan
        from secretguard.sources.aws_env import SERVICES, AwsSource, offered

        session = make_session(None)
        calls: Counter[str] = Counter()
        session.events.register("before-call", lambda model, **_: calls.update([model.name]))
        services = ["apprunner", "amplify", "elasticbeanstalk"]
        started = time.perf_counter()
        result = scan(AwsSource(session, [REGION], services), Config())
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"scan aws --services {','.join(services)}: {elapsed:.1f} s wall, {result.summary.scanned} resources "
              f"scanned, {len(result.findings)} findings, peak RSS {peak:.0f} MB (this process, stand-ins included)")
        print(f"API calls: {sum(calls.values())}")
        for operation, count in sorted(calls.items(), key=lambda kv: -kv[1]):
            print(f"  {operation:36} {count}")

        regions = sorted({r for service in SERVICES for r in session.get_available_regions(service)})
        started = time.perf_counter()
        absent = sum(not offered(session, service, region) for service in SERVICES for region in regions)
        print(f"offered() for {len(SERVICES)} services x {len(regions)} regions: "
              f"{(time.perf_counter() - started) * 1000:.0f} ms, {absent} pairs not offered (not called)")
    finally:
        for stand_in in stand_ins:
            stand_in.close()


if __name__ == "__main__":
    main()
