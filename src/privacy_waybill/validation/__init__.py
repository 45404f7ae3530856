"""Validators for the personal fields of an order: names, phones and resident ID numbers.

Each returns a normalised value or raises FieldError naming the field, never the value.
"""

from __future__ import annotations

from privacy_waybill.validation.id_numbers import validate_resident_id
from privacy_waybill.validation.names import PersonName, parse_person_name
from privacy_waybill.validation.phones import Phone, normalise_phone

__all__ = ["Phone", "PersonName", "normalise_phone", "parse_person_name", "validate_resident_id"]
