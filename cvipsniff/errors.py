"""Errors that end a command with one clear line on stderr and exit status 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad arguments or an input that cannot be used at all (exit status 2)."""
