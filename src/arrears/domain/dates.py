"""Due dates: the same day of month as the start date, k months later, clipped to the month's end.

The day is always taken from the start date, never from the previous due date, so a loan drawn on
January 31 falls due on Feb 28 (or 29), Mar 31, Apr 30, May 31: clipping never drifts.

>>> from datetime import date
>>> [due_date(date(2026, 1, 31), k).isoformat() for k in (1, 2, 3)]
['2026-02-28', '2026-03-31', '2026-04-30']
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(start: date, months: int) -> date:
    """``start`` moved ``months`` calendar months on, its day clipped to the last day of the target month."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))


def due_date(start: date, number: int) -> date:
    """Due date of installment ``number`` (1-based) of a loan that started on ``start``."""
    return add_months(start, number)
