#!/usr/bin/env python3
"""Cold-start cost of ``--lambda-mode wrapper``: the exec wrapper reading N secrets before the runtime starts.

Times, in fresh processes as Lambda starts them, ``python3 -c pass`` (the runtime alone) against the wrapper
running it after reading N secrets from a loopback stand-in for the Parameters and Secrets extension (which
answers from memory, so what is measured is the wrapper's own cost, not Secrets Manager's latency: add one
extension round trip, a few ms when its cache is cold, per secret). Prints the median and the 90th percentile.

    python benchmarks/bench_lambda_wrapper.py [--secrets 1 5 20] [--runs 30] [--python /usr/bin/python3]

``--python`` is the interpreter both run with (default: this one); a system Python without a virtualenv's
``site-packages`` is closer to a Lambda runtime.
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

WRAPPER = Path(__file__).resolve().parents[1] / "secretguard" / "aws" / "lambda_exec_wrapper.py"
TOKEN = "bench-token"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps({"SecretString": "v" * 32}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def timed(command: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secrets", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runtime = [args.python, "-c", "pass"]
    base = timed(runtime, {}, args.runs)
    print(f"runtime alone:        median {statistics.median(base):6.1f} ms   "
          f"p90 {statistics.quantiles(base, n=10)[-1]:6.1f} ms")
    for count in args.secrets:
        env = {"AWS_SESSION_TOKEN": TOKEN, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(server.server_address[1])}
        env |= {f"VAR{i}_SECRET_ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:s{i}-AbCdEf"
                for i in range(count)}
        wrapped = timed([args.python, str(WRAPPER), *runtime], env, args.runs)
        print(f"wrapper, {count:2d} secret(s): median {statistics.median(wrapped):6.1f} ms   "
              f"p90 {statistics.quantiles(wrapped, n=10)[-1]:6.1f} ms   "
              f"(+{statistics.median(wrapped) - statistics.median(base):.1f} ms)")
    server.shutdown()


if __name__ == "__main__":
    main()
