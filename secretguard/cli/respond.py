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
    from secretguard.aws.respond_policy import require_policy_libraries
    from secretguard.aws.respond_report import writer_for
    from secretguard.aws.session import make_session
    from secretguard.cli.common import _open_output as open_output  # noqa: PLC2701  (the one report writer)

    writer = writer_for(fmt)
    require_policy_libraries()
    keys = leaked_keys(inputs)
    networks = parse_networks(known_ip or [])
    session = make_session(profile)
    regions = default_regions(session, region or [], all_regions)
    with progress_bar(not (no_progress or quiet), "CloudTrail LookupEvents", unit="events") as (_, advance):
        responses = respond(keys, session, regions, endpoint_url=endpoint_url, known_networks=networks,
                            max_events=max_events, on_events=lambda region, n: advance(n))
    if output is not None or not quiet:
        with open_output(output, private=reveal) as out:
            writer(responses, out, reveal)
    return 0 if all(r.settled for r in responses) else 1


@app.command("rotate")
def rotate_command(
    key_id: Annotated[str | None, typer.Argument(metavar="KEY_ID", help="The leaked access key ID (not needed with --rollback).")] = None,
    secret_id: Annotated[str | None, typer.Option("--secret-id", help="Secret (name or ARN) that gets the new key as a new version (default: secretguard/iam-user/USER, created if missing).")] = None,
    grace_days: Annotated[int, typer.Option("--grace-days", min=0, help="Days the old key stays inactive before --finalize may delete it.")] = 7,
    finalize: Annotated[bool, typer.Option("--finalize", help="After the grace period: delete the old key (and detach the quarantine policy).")] = False,
    quarantine: Annotated[bool, typer.Option("--quarantine", help="Also attach AWSCompromisedKeyQuarantineV3 to the user.")] = False,
    rollback: Annotated[Path | None, typer.Option("--rollback", metavar="JOURNAL", help="Undo a rotation: reactivate the old key, delete the new one.")] = None,
    journal: Annotated[Path | None, typer.Option("--journal", help="Journal file (default: rotate-KEY_ID.journal.jsonl here).")] = None,
    region: Annotated[str | None, typer.Option("--region", "-r", help="Secrets Manager region (default: the profile's).")] = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show key IDs in full, and print the new secret access key once.")] = False,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
) -> int:
    """Rotate a leaked IAM user key with the owner's credentials: new key into Secrets Manager, old key deactivated.

    Run it again to resume after a failure; --finalize deletes the old key after the grace period.
    """
    from secretguard.aws import rotate as rotation
    from secretguard.aws.keys import KEY_ID
    from secretguard.aws.respond import caller_account
    from secretguard.aws.session import make_client, make_session
    from secretguard.errors import SecretguardError
    from secretguard.findings import redact

    if rollback is None and key_id is None:
        raise SecretguardError("rotate needs KEY_ID (or --rollback JOURNAL)")
    if key_id is not None and not KEY_ID.match(key_id.strip()):
        raise SecretguardError(f"'{redact(key_id)}' is not an AWS access key ID")
    if rollback is not None and (finalize or quarantine):
        raise SecretguardError("--rollback cannot be combined with --finalize or --quarantine")
    session = make_session(profile, region)
    clients = rotation.Clients(make_client(session, "iam", endpoint_url=endpoint_url),
                               make_client(session, "secretsmanager", endpoint_url=endpoint_url),
                               caller_account(session, endpoint_url))
    if rollback is not None:
        rotation.rollback(rollback, clients, reveal=reveal, echo=typer.echo)
        return 0
    key = (key_id or "").strip()
    path = journal or rotation.journal_path(key)
    if finalize:
        rotation.finalize(key, clients, path, reveal=reveal, echo=typer.echo)
    else:
        rotation.rotate(key, clients, path, secret_id=secret_id, grace_days=grace_days, quarantine=quarantine,
                        reveal=reveal, echo=typer.echo)
    return 0
