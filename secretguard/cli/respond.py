"""``secretguard aws respond`` and ``secretguard aws rotate``: after a leak, from the owner's side.

``app`` holds both; the command line adds it to the ``aws`` group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secretguard.cli.aws import EndpointOpt, ProfileOpt
from secretguard.cli.common import NoProgressOpt, OutputOpt, QuietOpt, RevealOpt, progress_bar

app = typer.Typer()


@app.command("respond")
def respond_command(
    inputs: Annotated[list[str], typer.Argument(metavar="FINDINGS.json | KEY_ID …",
                                                help="Access key IDs, or json/jsonl reports written with --reveal.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json or html.")] = "text",
    output: OutputOpt = None,
    reveal: RevealOpt = False,
    region: Annotated[list[str] | None, typer.Option("--region", "-r", help="CloudTrail region to read (repeatable; default: the profile's and us-east-1, plus the key's last-used region).")] = None,
    all_regions: Annotated[bool, typer.Option("--all-regions", help="Read CloudTrail in every region.")] = False,
    known_ip: Annotated[list[str] | None, typer.Option("--known-ip", help="Address or CIDR range the key is expected to be used from (repeatable); others are flagged.")] = None,
    max_events: Annotated[int, typer.Option("--max-events", min=1, help="Events read per region at most (50 a page, 2 pages a second).")] = 10_000,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    no_progress: NoProgressOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Whose key it is, what it can do, what it did (CloudTrail), and what to do next: owner's credentials only.

    Exit code 0 when every key was fully looked at and none can be used any more, 1 otherwise.
    """
    from secretguard.aws.respond import default_regions, leaked_keys, parse_networks, respond
    from secretguard.aws.respond_report import writer_for
    from secretguard.aws.session import make_session
    from secretguard.cli.common import _open_output as open_output  # noqa: PLC2701  (the one report writer)

    writer = writer_for(fmt)
    keys = leaked_keys(inputs)
    networks = parse_networks(known_ip or [])
    session = make_session(profile)
    regions = default_regions(session, region or [], all_regions)
    with progress_bar(not (no_progress or quiet), "CloudTrail LookupEvents", unit="events") as (_, advance):
        responses = respond(keys, session, regions, endpoint_url=endpoint_url, known_networks=networks,
                            max_events=max_events, on_events=lambda region, n: advance(n))  # type: ignore[operator]
    if output is not None or not quiet:
        with open_output(output, private=reveal) as out:
            writer(responses, out, reveal)
    return 0 if all(r.settled for r in responses) else 1
