"""The reserved key-store tenant for platform-wide blind indexes (recipient, courier and
telephony phones, notification addresses).

No real tenant id can equal it (tenant ids are lowercase letters, digits and dashes). Its
blind-index key never rotates, so nothing else is derived from it any more: every other
platform secret (QR references, audit signing, TOTP, OTP...) has a versioned key of its own
(purpose_keys.py). Homes from before that keep their version 1 derived from this tenant's key.
"""

from __future__ import annotations

PLATFORM_KEY_TENANT = "_platform"
