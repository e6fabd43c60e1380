"""The API's schemas: what clients send (:mod:`.requests`) and what they get (:mod:`.responses`)."""

from arrears.entrypoints.api.schemas.requests import (
    BorrowerIn,
    ContactIn,
    CourtOrderIn,
    DecisionIn,
    DisputeIn,
    DrawdownIn,
    HardshipRequestIn,
    LineIn,
    PlanIn,
    PromiseIn,
    RepaymentIn,
    WaiverIn,
    WriteOffIn,
)
from arrears.entrypoints.api.schemas.responses import Problem

__all__ = [
    "BorrowerIn",
    "ContactIn",
    "CourtOrderIn",
    "DecisionIn",
    "DisputeIn",
    "DrawdownIn",
    "HardshipRequestIn",
    "LineIn",
    "PlanIn",
    "Problem",
    "PromiseIn",
    "RepaymentIn",
    "WaiverIn",
    "WriteOffIn",
]
