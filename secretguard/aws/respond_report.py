"""``aws respond`` output: text for a person, json for scripts, one self-contained html page to share.

Key IDs are redacted unless ``reveal``; no secret key is ever known to ``respond``, so none can be shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any, TextIO

from secretguard import __version__
from secretguard.aws.respond import KeyResponse
from secretguard.errors import SecretguardError
from secretguard.findings import Origin
from secretguard.report.text import describe

FORMATS = ("text", "json", "html")
SHOWN = 5
"""Items per list in text and html; json has them all."""
BASIS = ("verdicts: cloudsplaining's privilege-escalation, data-exfiltration and credential classes and "
         "policy_sentry's access levels, over the user's inline, attached and group policies and its boundary; "
         "conditions, resource policies, SCPs and session policies are not evaluated")


def _top(counts: dict[str, int]) -> str:
    items = list(counts.items())
    text = ", ".join(f"{name or '?'} ({n})" for name, n in items[:SHOWN])
    return text + (f", … {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _few(values: list[str]) -> str:
    return ", ".join(values[:SHOWN]) + (f", … {len(values) - SHOWN} more" if len(values) > SHOWN else "")


def sections(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """One key's report as (heading, lines), shared by text and html."""
    owner = [f"account {data['key_account'] or 'unknown (old key ID format)'} (decoded offline); "
             f"your credentials: {data['caller_account']}"
             + (" (same account)" if data["in_caller_account"] else " (another account)")]
    if data["user"]:
        owner.append(f"IAM user {data['user']}; key {data['status']}, created {data['created'] or '?'}")
        used = data["last_used"]
        owner.append(f"last used {used['date']} in {used['region']} ({used['service']})" if used else "never used")
        others = [k for k in data["user_keys"] if k["key_id"] != data["key_id"]]
        owner += [f"other key of the user: {k['key_id']} {k['status']}, created {k['created']}" for k in others]
    elif data["status"] == "deleted":
        owner.append("no such key in this account any more (deleted)")
    result = [("owner", owner)]
    can = data["can_do"]
    if can:
        lines = [f"verdict: {can['verdict']}"]
        if can["verdict"] == "administrator":
            lines.append("every action on every resource (the details are in --format json)")
        elif can["privilege_escalation"]:
            lines.append("privilege escalation: " + _few(can["privilege_escalation"]))
        for grant in can["data_access"] if can["verdict"] != "administrator" else []:
            actions = ([f"read {_few(grant['read'])}"] * bool(grant["read"])
                       + [f"write {_few(grant['write'])}"] * bool(grant["write"]))
            lines.append(f"{grant['service']} on {_few(grant['resources'])}: " + "; ".join(actions))
        if can["unrestricted_data_actions"]:
            lines.append("data on every resource: " + _few(can["unrestricted_data_actions"]))
        if can["credential_actions"]:
            lines.append("actions that return credentials: " + _few(can["credential_actions"]))
        lines.append(f"{can['allowed_actions']} actions allowed, {can['modifying_actions']} of them change something")
        lines.append("policies: " + (_few(can["policies"]) or "none"))
        lines += can["notes"]
        result.append(("what it can do", lines))
    did = data["did"]
    if did:
        lines = [f"{did['events']} CloudTrail events in the last 90 days in {', '.join(did['regions'])}"
                 + ("" if did["complete"] else " (incomplete)")]
        if did["events"]:
            lines += [f"first seen {did['first_seen']}, last seen {did['last_seen']}",
                      f"events: {_top(did['event_names'])}", f"source IPs: {_top(did['source_ips'])}",
                      f"user agents: {_top(did['user_agents'])}", f"regions: {_top(did['event_regions'])}"]
            if did["denied"]:
                lines.append(f"{did['denied']} denied calls (someone may be probing what the key can do)")
        notable = did["read_first"]
        lines += [f"read first: {e['time']} {e['name']} from {e['ip']} in {e['region']}"
                  + (f" [{e['error']}]" if e["error"] else "") + f": {', '.join(e['why'])}"
                  for e in notable[:SHOWN * 4]]
        if len(notable) > SHOWN * 4:
            lines.append(f"… and {len(notable) - SHOWN * 4} more to read first (all of them in --format json)")
        result.append(("what it did", lines))
    if data["found_at"]:
        result.append(("found at", [describe(Origin.from_dict(o)) for o in data["found_at"]]))
    not_read = list(data["unread"]) + (did["unread"] if did else [])
    if not_read:
        result.append(("not looked at", not_read))
    result.append(("next", [data["recommendation"]]))
    return result


def write_text(responses: list[KeyResponse], out: TextIO, reveal: bool) -> None:
    for response in responses:
        data = response.to_dict(reveal)
        out.write(f"== {data['key_id']}\n")
        for heading, lines in sections(data):
            out.write(f"{heading}:\n" + "".join(f"  {line}\n" for line in lines))
        out.write("\n")
    out.write(f"({BASIS})\n")


def write_json(responses: list[KeyResponse], out: TextIO, reveal: bool) -> None:
    json.dump({"tool": {"name": "secretguard", "version": __version__}, "basis": BASIS,
               "keys": [r.to_dict(reveal) for r in responses]}, out, indent=2)
    out.write("\n")


def write_html(responses: list[KeyResponse], out: TextIO, reveal: bool) -> None:
    out.write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
              "<title>secretguard: leaked AWS keys</title><style>body{font:14px/1.45 system-ui,sans-serif;margin:24px}"
              "h2{font-size:17px;margin-top:28px}h3{font-size:14px;margin:12px 0 4px}.next{font-weight:600}"
              ".muted{color:#6b7280}</style></head><body><h1>Leaked AWS keys</h1>"
              f'<p class="muted">secretguard {__version__}' + ("" if reveal else " · key IDs redacted") + "</p>")
    for response in responses:
        data = response.to_dict(reveal)
        out.write(f'<section class="key"><h2><code>{escape(data["key_id"])}</code></h2>')
        for heading, lines in sections(data):
            css = ' class="next"' if heading == "next" else ""
            out.write(f"<h3>{escape(heading)}</h3><ul{css}>" + "".join(f"<li>{escape(line)}</li>" for line in lines)
                      + "</ul>")
        out.write("</section>")
    out.write(f'<p class="muted">{escape(BASIS)}</p></body></html>\n')


def writer_for(fmt: str) -> Callable[[list[KeyResponse], TextIO, bool], None]:
    """The writer for ``fmt``; an unknown format is a usage error."""
    writers = {"text": write_text, "json": write_json, "html": write_html}
    if fmt not in writers:
        raise SecretguardError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    return writers[fmt]
