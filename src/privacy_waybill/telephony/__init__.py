"""Virtual numbers (AXB): pool, bindings, call routing, signed provider callbacks, expiry."""

from privacy_waybill.telephony.callbacks import CallbackSigner
from privacy_waybill.telephony.model import (
    DEFAULT_TELEPHONY_POLICY,
    Binding,
    BindingStoreUnavailable,
    CallbackRejected,
    NoNumberFree,
    RouteAction,
    RouteDecision,
    TelephonyPolicy,
    TelephonyProvider,
)
from privacy_waybill.telephony.service import PhoneSeals, TelephonyService
from privacy_waybill.telephony.simulator import SimulatedTelephony

__all__ = [
    "DEFAULT_TELEPHONY_POLICY",
    "Binding",
    "BindingStoreUnavailable",
    "CallbackRejected",
    "CallbackSigner",
    "NoNumberFree",
    "PhoneSeals",
    "RouteAction",
    "RouteDecision",
    "SimulatedTelephony",
    "TelephonyPolicy",
    "TelephonyProvider",
    "TelephonyService",
]
