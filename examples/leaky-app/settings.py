"""Settings of a sample app that leaks credentials on purpose (all values are fake)."""
import os

SLACK_BOT_TOKEN = "xoxb-7975432319487-5749118625276-c9QeWJKY40uvSwMFLZDe1f8r"
STRIPE_KEY = "sk_live_ESQedUStPKR0CsTy4Qwb8Dwk"
SMTP_PASSWORD = "NhFdnX#siVpz!"
API_TOKEN = os.environ["API_TOKEN"]  # a reference, not a secret
EXAMPLE_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS documentation key: ignored
