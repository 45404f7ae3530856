"""Errors that are part of the public interface.

Every message here names *what* is wrong and *where* (a field path), never the offending
value: values are personal data and errors end up in logs, HTTP bodies and terminals.
"""

from __future__ import annotations


class PrivacyWaybillError(Exception):
    """Base class for errors the adapters turn into a problem body or a CLI line."""


class FieldError(PrivacyWaybillError, ValueError):
    """One input field is unusable.

    `field` is a dotted path such as ``recipient.phone``; `reason` is a short English
    sentence that never quotes the input.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type[FieldError], tuple[str, str]]:
        # Issuance workers send rejections back to the parent process by pickle.
        return (FieldError, (self.field, self.reason))

    def under(self, prefix: str) -> FieldError:
        """The same error re-rooted below `prefix` (``phone`` -> ``recipient.phone``)."""
        return FieldError(f"{prefix}.{self.field}" if self.field else prefix, self.reason)


class NotFound(PrivacyWaybillError):
    """A referenced record does not exist (or is not visible to the caller)."""


class Conflict(PrivacyWaybillError):
    """The request contradicts stored state."""


class Gone(PrivacyWaybillError):
    """The record existed but its personal data has been purged (crypto-shredded)."""
