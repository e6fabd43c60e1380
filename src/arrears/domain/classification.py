"""Ageing: days past due (逾期天数) to M-buckets and to the five-category classification (五级分类).

Buckets (shared/RULES.md, "Buckets and metrics"): M0 is current (DPD 0), M1 = DPD 1..30, M2 = 31..60, ...,
M6 = 151..180, M7 = 181 and more. Each bucket after M0 spans 30 days, counted from the due date.

Classification by DPD alone (商业银行金融资产风险分类办法, 2023: any overdue at least 关注, DPD > 90 at least
次级 [S]; DPD > 270 可疑 and DPD > 360 损失 are general practice [G]):

==============  ========  ==========
DPD             class     中文
==============  ========  ==========
0               normal    正常
1..90           special-mention  关注
91..270         substandard      次级
271..360        doubtful         可疑
361+            loss             损失
==============  ========  ==========

Later issues (hardship plans) may hold a loan at a worse class than its DPD alone gives; they do that by
taking the worse of this and their own rule, never by editing this table.
"""

from __future__ import annotations

from enum import StrEnum


class Bucket(StrEnum):
    M0 = "M0"
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    M4 = "M4"
    M5 = "M5"
    M6 = "M6"
    M7 = "M7"


class Classification(StrEnum):
    NORMAL = "normal"  # 正常
    SPECIAL_MENTION = "special-mention"  # 关注
    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失


BUCKET_DAYS = 30
"""Days each bucket after M0 spans; M7 (the last) takes everything from 181 on."""
_BUCKETS = tuple(Bucket)
CLASS_FLOORS: tuple[tuple[int, Classification], ...] = (
    (1, Classification.SPECIAL_MENTION),
    (91, Classification.SUBSTANDARD),
    (271, Classification.DOUBTFUL),
    (361, Classification.LOSS),
)
"""The least days past due of each class after normal, mildest first (the table above): the one source of the
floors, for :func:`classification_for` and the day-end kernel's vectorized ageing (:mod:`arrears.day_end.kernel`).
A class's index in :class:`Classification` is the number of floors its days past due reach."""
assert [c for _, c in CLASS_FLOORS] == list(Classification)[1:]


def bucket_for(days_past_due: int) -> Bucket:
    """M0 for 0, M1 for 1..30, ..., M6 for 151..180, M7 for 181+."""
    if days_past_due < 0:
        raise ValueError(f"days past due cannot be negative, got {days_past_due}")
    return _BUCKETS[min(7, (days_past_due + BUCKET_DAYS - 1) // BUCKET_DAYS)]


def classification_for(days_past_due: int) -> Classification:
    """The five-category class that days past due alone give (table in the module docstring)."""
    if days_past_due < 0:
        raise ValueError(f"days past due cannot be negative, got {days_past_due}")
    for floor, classification in reversed(CLASS_FLOORS):
        if days_past_due >= floor:
            return classification
    return Classification.NORMAL
