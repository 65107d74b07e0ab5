"""What a key did: CloudTrail ``LookupEvents`` by access key ID, summarised for a person.

LookupEvents answers at most 2 requests per second per account and region, so every request (retries
included) waits its turn; throttling that happens anyway is retried by botocore. It sees management events
of the last 90 days in the region it is asked, not S3 or Lambda data events.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from secretguard.aws.respond_policy import access_level
from secretguard.aws.session import error_line

LOOKBACK_DAYS = 90
REQUESTS_PER_SECOND = 2.0
PAGE_SIZE = 50
TOP = 10
CONSOLE_LOGIN = "ConsoleLogin"
API_VERSION_SUFFIX = re.compile(r"20[0-9]{6}(?:v[0-9]+)?$")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimit:
    """Spaces calls at least ``1 / per_second`` apart; thread-safe."""

    def __init__(self, per_second: float = REQUESTS_PER_SECOND,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / per_second
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, **_: Any) -> None:
        """Block until the next call may go (also usable as a botocore event handler)."""
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


@dataclass(frozen=True, slots=True)
class Event:
    """One CloudTrail event, reduced to what the summary shows."""

    time: str
    name: str
    source: str
    region: str
    ip: str
    user_agent: str
    error: str | None
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "name": self.name, "source": self.source, "region": self.region, "ip": self.ip,
                "user_agent": self.user_agent, "error": self.error, "why": list(self.reasons)}


@dataclass(slots=True)
class Activity:
    """The summary of a key's events over the regions that were read."""

    regions: list[str]
    events: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    names: Counter[str] = field(default_factory=Counter)
    ips: Counter[str] = field(default_factory=Counter)
    user_agents: Counter[str] = field(default_factory=Counter)
    event_regions: Counter[str] = field(default_factory=Counter)
    denied: int = 0
    notable: list[Event] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    """What was not read: ``region: reason``. Non-empty means the summary is incomplete."""

    @property
    def complete(self) -> bool:
        return not self.unread

    def to_dict(self) -> dict[str, Any]:
        return {"regions": self.regions, "complete": self.complete, "unread": self.unread, "events": self.events,
                "first_seen": self.first_seen, "last_seen": self.last_seen, "denied": self.denied,
                "event_names": dict(self.names.most_common()), "source_ips": dict(self.ips.most_common()),
                "user_agents": dict(self.user_agents.most_common()), "event_regions": dict(self.event_regions),
                "read_first": [e.to_dict() for e in self.notable]}


class Classifier:
    """Why an event deserves to be read first, from cloudsplaining's action classes and policy_sentry's levels."""

    def __init__(self, known_networks: Sequence[Network] = ()) -> None:
        from cloudsplaining.shared.constants import (
            ACTIONS_THAT_RETURN_CREDENTIALS,
            PRIVILEGE_ESCALATION_METHODS,
            READ_ONLY_DATA_EXFILTRATION_ACTIONS,
        )

        steps = {a for actions in PRIVILEGE_ESCALATION_METHODS.values() for a in actions}
        # ec2:DescribeInstances is part of a path, but no step worth flagging
        self.escalation = {a for a in steps if access_level(a) not in ("Read", "List")}
        self.data = {a.lower() for a in READ_ONLY_DATA_EXFILTRATION_ACTIONS}
        self.credentials = {a.lower() for a in ACTIONS_THAT_RETURN_CREDENTIALS}
        self.known = tuple(known_networks)

    def _unknown_ip(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False  # an AWS service name (``lambda.amazonaws.com``), not an address
        return not any(address in network for network in self.known)

    def reasons(self, action: str, ip: str) -> tuple[str, ...]:
        """The reasons ``action`` (``service:Name``) from ``ip`` is notable; empty when it is not."""
        name = action.partition(":")[2]
        lowered = action.lower()
        found = []
        if name == CONSOLE_LOGIN:
            found.append("console login")
        if access_level(action) == "Permissions management":
            found.append("changes permissions")
        if lowered in self.escalation:
            found.append("privilege escalation step")
        if lowered in self.data:
            found.append("reads data or secrets")
        if lowered in self.credentials:
            found.append("returns credentials")
        if self.known and self._unknown_ip(ip):
            found.append("from an unknown IP")
        return tuple(found)


def _event(raw: dict[str, Any], classifier: Classifier) -> Event:
    try:
        detail = json.loads(raw.get("CloudTrailEvent") or "{}")
    except ValueError:
        detail = {}
    source = str(raw.get("EventSource") or detail.get("eventSource") or "")
    name = str(raw.get("EventName") or detail.get("eventName") or "")
    when = raw.get("EventTime")
    stamp = (when.astimezone(datetime.UTC).isoformat(timespec="seconds") if isinstance(when, datetime.datetime)
             else str(when))
    ip = str(detail.get("sourceIPAddress") or "")
    service = source.split(".", 1)[0]
    action = API_VERSION_SUFFIX.sub("", name)  # Lambda's CreateFunction20150331 is lambda:CreateFunction
    return Event(time=stamp, name=name, source=source, region=str(detail.get("awsRegion") or ""), ip=ip,
                 user_agent=str(detail.get("userAgent") or ""), error=detail.get("errorCode"),
                 reasons=classifier.reasons(f"{service}:{action}", ip))


def _add(activity: Activity, event: Event) -> None:
    activity.events += 1
    activity.names[event.name] += 1
    activity.ips[event.ip] += 1
    activity.user_agents[event.user_agent] += 1
    activity.event_regions[event.region] += 1
    activity.denied += event.error is not None
    activity.first_seen = min(filter(None, (activity.first_seen, event.time)))
    activity.last_seen = max(filter(None, (activity.last_seen, event.time)))
    if event.reasons:
        activity.notable.append(event)


def lookup_activity(
    clients: Callable[[str], Any],
    key_id: str,
    regions: Iterable[str],
    *,
    known_networks: Sequence[Network] = (),
    max_events: int = 10_000,
    now: datetime.datetime | None = None,
    on_events: Callable[[str, int], None] = lambda region, n: None,
) -> Activity:
    """Every event of ``key_id`` in the last 90 days in each region; ``clients(region)`` gives a CloudTrail client.

    A region that fails (AccessDenied, a network error) or that holds more than ``max_events`` is named in
    ``unread``; ``on_events`` is told of each page as it arrives.
    """
    end = now or datetime.datetime.now(datetime.UTC)
    start = end - datetime.timedelta(days=LOOKBACK_DAYS)
    classifier = Classifier(known_networks)
    regions = list(dict.fromkeys(regions))
    activity = Activity(regions=regions)
    for region in regions:
        client = clients(region)
        limit = RateLimit()
        client.meta.events.register("before-send.cloudtrail.LookupEvents", limit.wait)
        request: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": key_id}],
                                   "StartTime": start, "EndTime": end, "MaxResults": PAGE_SIZE}
        read = 0
        try:
            while True:
                page = client.lookup_events(**request)
                events = page.get("Events", [])
                for raw in events:
                    _add(activity, _event(raw, classifier))
                read += len(events)
                on_events(region, len(events))
                token = page.get("NextToken")
                if not token:
                    break
                if read >= max_events:
                    activity.unread.append(f"{region}: more than {max_events} events; only the latest were read")
                    break
                request["NextToken"] = token
        except (ClientError, BotoCoreError) as exc:
            activity.unread.append(f"{region}: cloudtrail:LookupEvents: {error_line(exc)}")
    activity.notable.sort(key=lambda e: e.time)
    return activity
