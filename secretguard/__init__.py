"""secretguard: find cloud credentials, tell whether they are live, and move them where they belong."""

from __future__ import annotations

__version__ = "0.1.0"
