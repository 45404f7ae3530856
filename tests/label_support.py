"""A masked label content for the label tests: what issuance would hand the renderers."""

from __future__ import annotations

import dataclasses
from datetime import date

from privacy_waybill.labels import LabelContent, MaskedParty

SAMPLE_CONTENT = LabelContent(
    waybill_no="PW83920471650382",
    sort_code="571-A12-03",
    recipient=MaskedParty("张**", "*******5678", "浙江省杭州市余杭区五常街道文一西路****"),
    sender=MaskedParty("欧阳*", "*******1234", "广东省深圳市南山区粤海街道科技南十二路****"),
    contents="日用品",
    qr_payload="https://pwb.example.cn/t/9fQ2xK7mLw3ZpR8vT1aB6cD4eF0gH5jN",
    issued_on=date(2026, 11, 23),
    weight_g=1250,
)


def label_content(**changes: object) -> LabelContent:
    return dataclasses.replace(SAMPLE_CONTENT, **changes)
