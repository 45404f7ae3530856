"""Courier delivery: delivery points, assignment, manifests by building, the out-for-delivery
scan, reveal, virtual-number calls and sign-off."""

from privacy_waybill.delivery.model import (
    Assignment,
    CallRoute,
    Manifest,
    ManifestStop,
    ParcelCard,
    Revealed,
    RouteDefinition,
    ScanResult,
    SignedOff,
    SignOffMethod,
    SignOffProof,
)
from privacy_waybill.delivery.points import DeliveryKeys, DeliveryPointKeyer

__all__ = [
    "Assignment",
    "CallRoute",
    "DeliveryKeys",
    "DeliveryPointKeyer",
    "Manifest",
    "ManifestStop",
    "ParcelCard",
    "Revealed",
    "RouteDefinition",
    "ScanResult",
    "SignOffMethod",
    "SignOffProof",
    "SignedOff",
]
