"""The content filters: placeholders and documentation keys go, real-looking secrets stay."""

from __future__ import annotations

import pytest

from secretguard.aws.keys import VENDOR_EXAMPLE_KEYS
from secretguard.filters import is_dropped, is_inline_allowed


@pytest.mark.parametrize("secret", [
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "${DB_PASSWORD}", "{{ secrets.TOKEN }}",
    "<your-token>", "YOUR_API_KEY_HERE", "xxxxxxxxxxxx", "sk_live_********", "changeme", "$TOKEN",
    "os.environ['X']", "process.env.TOKEN", "aaaaaaaaaaaa", "https://hooks.slack.com/services/T0/B0/XXXXXXXXX",
    "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", "us-west-2_EXAMPLE#import-example3#1667948397084",
])
def test_placeholders_are_dropped(secret: str):
    assert is_dropped(secret, "any-rule")


@pytest.mark.parametrize("secret", [
    "p@$sW0rd!x9Qz", "Zq81mWc4Lp0sXv7Ne2Rt5Yb9", "sk_live_ESQedUStPKR0CsTy4Qwb8Dwk", "Example-Rb7x2Qm9Lk4Tz",
    "MIIEpAIBAAKCAQEA" + "Ab3xxxxQ9" + "K7mZp2Lq" * 200,  # a short chance run inside a long key
])
def test_real_looking_secrets_stay(secret: str):
    assert not is_dropped(secret, "any-rule")


def test_hashes_and_uuids_only_drop_for_generic_rules():
    uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert is_dropped(uuid, "generic-password") and not is_dropped(uuid, "heroku-api-key")
    assert is_dropped("9fceb02d0ae598e95dc970b74767f19372d61af8", "generic-password")


def test_inline_markers():
    assert is_inline_allowed(b"key = 'x'  # secretguard:allow")
    assert is_inline_allowed(b"key = 'x'  # pragma: allowlist secret")
    assert not is_inline_allowed(b"key = 'x'")


@pytest.mark.parametrize("secret", sorted(VENDOR_EXAMPLE_KEYS))
def test_every_aws_documentation_key_is_dropped_without_the_filters_knowing_aws(secret: str):
    assert is_dropped(secret, "aws-access-key-id")
