"""Sign-off as one function, for every way a parcel reaches its recipient.

Couriers call it at the door (recipient OTP or photo), the station desk at pickup (its pickup
code, already checked by the desk). It ends the courier's access at once, schedules the
virtual numbers' expiry (sign-off + grace), and a replay changes nothing.
"""

from __future__ import annotations

from privacy_waybill.access.model import Context, Subject
from privacy_waybill.delivery.model import SignedOff, SignOffProof
from privacy_waybill.delivery.service import DeliveryService
from privacy_waybill.issuance.model import IssuedWaybill


def sign_off(
    delivery: DeliveryService, subject: Subject, waybill: IssuedWaybill, proof: SignOffProof, context: Context
) -> SignedOff:
    """Mark `waybill` delivered by `subject` with `proof` (see DeliveryService.sign_off)."""
    return delivery.sign_off(subject, waybill, proof, context)
