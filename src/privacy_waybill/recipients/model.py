"""What the portal works with: a signed-in recipient, preferences, and disclosure entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from privacy_waybill.errors import PrivacyWaybillError


@dataclass(frozen=True, slots=True)
class Recipient:
    """A recipient whose phone was verified by OTP in this session.

    `phone` is held for the request only (to compute each tenant's blind index); it is never
    returned, logged or put in an audit entry. `actor` names the recipient by a keyed hash.
    """

    actor: str
    phone_index: bytes = field(repr=False)
    phone: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Preferences:
    """Where a recipient accepts parcels (both allowed until they say otherwise).

    Masked labels and virtual numbers are not among them: they hold for every recipient and
    cannot be switched off (`ALWAYS_ON`), since a privacy label that is opt-in is what failed.
    """

    station_allowed: bool = True
    locker_allowed: bool = True


DEFAULT_PREFERENCES = Preferences()
# Protections the portal shows beside the preferences, always true: every label prints masked
# data and every courier call goes through a virtual number.
ALWAYS_ON = ("masked_label", "virtual_number")


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One time someone saw the recipient's data: by role and purpose, never by name."""

    waybill_no: str
    at: datetime
    role: str
    action: str
    purpose: str | None
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RecipientSignedIn:
    token: str = field(repr=False)
    expires_at: datetime
    recipient: Recipient


@dataclass(frozen=True, slots=True)
class LeakReportRecord:
    id: str
    created_at: datetime
    status: str
    waybill_nos: tuple[str, ...]
    text_display: str | None


class RecipientOtpFailed(PrivacyWaybillError):
    def __init__(self) -> None:
        super().__init__("the code is not valid or has expired")
