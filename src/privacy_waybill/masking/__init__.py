"""The masking engine: rules that hide personal data, and the policy saying who sees which rule.

Nothing here fails open: a value a rule cannot understand is shown as ****.
"""

from __future__ import annotations

from privacy_waybill.masking.free_text import display_text, load_vocabulary
from privacy_waybill.masking.policy import (
    AUDIENCES,
    DEFAULT_PROFILE,
    FIELDS,
    MaskingPolicy,
    MaskingPolicyError,
    load_masking_policy,
    parse_masking_policy,
)
from privacy_waybill.masking.rules import FULLY_HIDDEN, MaskingRule, get_rule, register_rule, rule_names
from privacy_waybill.masking.scrub import contents_category, scrub_free_text

__all__ = [
    "AUDIENCES",
    "DEFAULT_PROFILE",
    "FIELDS",
    "FULLY_HIDDEN",
    "MaskingPolicy",
    "MaskingPolicyError",
    "MaskingRule",
    "contents_category",
    "display_text",
    "get_rule",
    "load_masking_policy",
    "load_vocabulary",
    "parse_masking_policy",
    "register_rule",
    "rule_names",
    "scrub_free_text",
]
