"""Print terminal tokens: `pwt_<terminal id>_<secret>`, of which only a SHA-256 is stored.

Like merchant API keys, the secret is 256 random bits, so a fast hash suffices.
"""

from __future__ import annotations

import re
import secrets

from privacy_waybill.access.api_keys import hash_secret
from privacy_waybill.access.model import Role, Subject
from privacy_waybill.printing.model import NewTerminal, Terminal

_TOKEN_PATTERN = re.compile(r"^pwt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def new_terminal() -> NewTerminal:
    terminal_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewTerminal(terminal_id=terminal_id, token_hash=hash_secret(secret), token=f"pwt_{terminal_id}_{secret}")


def split_terminal_token(token: str) -> tuple[str, str] | None:
    """(terminal id, secret) of a well-formed token, else None."""
    match = _TOKEN_PATTERN.match(token)
    return (match.group(1), match.group(2)) if match else None


def terminal_subject(terminal: Terminal) -> Subject:
    """The access-control subject of a terminal: bounded to its merchant's tenant."""
    return Subject(actor=f"terminal:{terminal.terminal_id}", role=Role.PRINT_TERMINAL, tenant_id=terminal.tenant_id)
