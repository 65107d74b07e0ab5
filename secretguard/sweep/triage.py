"""Triage: people's decisions about findings (false positive, revoked, accepted), kept in the sweep store.

Sweeps never change a decision; a finding with a decision in force is left out of reports unless asked for.
"""

from __future__ import annotations

import getpass

from secretguard.errors import SecretguardError
from secretguard.sweep.store import TRIAGE_STATUSES, Store


def current_user() -> str:
    """Who is deciding, for the record: the login name, or 'unknown'."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def triage(store: Store, fingerprint: str, status: str, note: str, decided_by: str) -> str:
    """Record ``status`` for the finding whose fingerprint is (or starts with) ``fingerprint``; returns it in full."""
    if status not in TRIAGE_STATUSES:
        raise SecretguardError(f"--status '{status}': choose from {', '.join(TRIAGE_STATUSES)}")
    finding_id, full = store.find_fingerprint(fingerprint)
    store.add_triage(finding_id, status, note, decided_by)
    return full
