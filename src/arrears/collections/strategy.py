"""Collection strategies as TOML files, and ``strategy check``: a strategy that asks for anything unlawful is
refused when it is loaded, with the rule and its source.

A strategy names its jurisdiction (a policy pack, :mod:`arrears.collections.policy`), optional champion/challenger
arms (``[[arms]]`` with a name and a share in percent, adding up to 100), and rules. A rule's ``when`` keys are
``dpd_min``, ``dpd_max`` (bounds inclusive), ``bucket`` (M0..M7), ``min_overdue`` (an amount), ``segment``,
``promise`` (none, live, kept, broken) and ``arm``; every matching rule fires and their actions are merged. Each
action names what to do (:class:`Action`) and its timing (``at`` HH:MM in the borrower's local time,
``times_per_day``), and a template where it sends a text::

    [strategy]
    name = "cn-default"
    jurisdiction = "cn"

    [[rules]]
    when = { dpd_min = 1, dpd_max = 7 }
    actions = [ { action = "sms", template = "reminder", at = "10:00" },
                { action = "voice_call", at = "14:00", times_per_day = 1 } ]

:func:`check_strategy` returns every violation at once, each ``{"rule", "source", "where", "message"}``
(shared/contracts/strategy-check.schema.json): ``syntax`` for a file that does not parse, ``schema`` for a
malformed one (with the fix), the policy rule for an unlawful one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from arrears.collections.policy import OUTSIDE_PRODUCT_RULE, PACKS, Channel, PolicyPack, PolicyRule
from arrears.files import STRATEGY_FILE_CAP, FileRefused, read_text_capped
from arrears.validation import Amount, Rate, error_detail


class Action(StrEnum):
    """What a strategy may ask for. Contacts go to the borrower only; restrictions go through the restrictions
    registry (arrears.restrictions.registry) and the pre-notice through credit reporting: one owner for each concept."""

    SMS = "sms"
    VOICE_CALL = "voice_call"
    IN_APP_NOTICE = "in_app_notice"
    EMAIL = "email"
    LETTER = "letter"
    PROMISE_TO_PAY_FOLLOWUP = "promise_to_pay_followup"
    AGENCY_PLACEMENT = "agency_placement"
    AGENCY_RECALL = "agency_recall"
    LEGAL_REFERRAL = "legal_referral"
    CREDIT_REPORT_PRE_NOTICE = "credit_report_pre_notice"
    SUSPEND_DRAWDOWN = "suspend_drawdown"
    REDUCE_LIMIT = "reduce_limit"
    CLOSE_LINE = "close_line"


CONTACTS = {a: Channel(a.value) for a in Action if a.value in set(Channel)}
"""The actions that contact the borrower, and their channel."""
ANY_AGENCY = "any"
"""``agency_placement`` without a named agency: allocated across ``[[agencies]]`` by their shares."""
NEEDS_TEMPLATE = {Action.SMS, Action.EMAIL, Action.LETTER, Action.IN_APP_NOTICE, Action.CREDIT_REPORT_PRE_NOTICE}

# Action names that reach outside the lender's product or past the borrower: refused by name, whatever the
# strategy says around them. A name is matched whole, or by the words that give it away.
_MESSAGING = re.compile(r"messaging|wechat|weixin|qq|social")
_DISCLOSURE = re.compile(r"contacts?\b|contacts_|third_party|friends?|family|relatives|employer|public|disclos|publish")
_SCHEMA_SOURCE = "arrears strategy format (arrears/collections/strategy.py; README: Collections)"
_SYNTAX_SOURCE = "TOML 1.0 (https://toml.io/en/v1.0.0)"


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    source: str
    where: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "source": self.source, "where": self.where, "message": self.message}


def forbidden(pack: PolicyPack | None, name: str) -> PolicyRule | None:
    """The rule that forbids an action of this name, if any (``pack`` None: the jurisdiction is unknown)."""
    lowered = name.lower()
    if _MESSAGING.search(lowered):
        return OUTSIDE_PRODUCT_RULE
    if _DISCLOSURE.search(lowered):
        return pack.borrower_only if pack is not None else PACKS["cn"].borrower_only
    return None


_STRICT = ConfigDict(extra="forbid", frozen=True)
_Model = TypeVar("_Model", bound=BaseModel)


def _clock(value: Any) -> time:
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"{value!r} is not a time HH:MM (24-hour, such as 09:30)")
    return time.fromisoformat(value)


class When(BaseModel):
    model_config = _STRICT
    dpd_min: StrictInt | None = Field(default=None, ge=0)
    dpd_max: StrictInt | None = Field(default=None, ge=0)
    bucket: Literal["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7"] | None = None
    min_overdue: Amount | None = None
    segment: StrictStr | None = None
    promise: Literal["none", "live", "kept", "broken"] | None = None
    arm: StrictStr | None = None

    @model_validator(mode="after")
    def _range(self) -> When:
        if self.dpd_min is not None and self.dpd_max is not None and self.dpd_min > self.dpd_max:
            raise ValueError(f"dpd_min {self.dpd_min} is above dpd_max {self.dpd_max}: an empty range; swap them")
        return self


class ActionStep(BaseModel):
    model_config = _STRICT
    action: Action
    template: StrictStr | None = None
    at: time | None = None
    times_per_day: StrictInt = Field(default=1, ge=1)
    to: Literal["borrower"] = "borrower"
    after_days: StrictInt | None = Field(default=None, ge=1)  # agency recall: days after placement
    agency: StrictStr | None = None

    _at = field_validator("at", mode="before")(lambda value: None if value is None else _clock(value))


class Arm(BaseModel):
    model_config = _STRICT
    name: StrictStr = Field(min_length=1)
    share: StrictInt = Field(ge=1, le=100)


class Agency(BaseModel):
    """A collection agency accounts may be placed with: its share of placements (percent, adding up to 100)
    and its commission on what is recovered while an account is placed (a rate such as "0.18")."""

    model_config = _STRICT
    name: StrictStr = Field(min_length=1, max_length=64)
    share: StrictInt = Field(ge=1, le=100)
    commission: Rate

    @field_validator("commission")
    @classmethod
    def _basis_points(cls, value: Decimal) -> Decimal:
        if value > 1 or value != value.quantize(Decimal("0.0001")):
            raise ValueError(f"commission {value} must be a rate from 0 to 1 in whole basis points, such as 0.18")
        return value

    @property
    def commission_bp(self) -> int:
        """The commission in basis points (exact: rates are checked to at most 4 decimal places)."""
        return int(self.commission * 10_000)


class StrategyInfo(BaseModel):
    model_config = _STRICT
    name: StrictStr = Field(min_length=1)
    jurisdiction: StrictStr
    description: StrictStr = ""
    promise_pauses: tuple[Action, ...] = ()  # actions a live promise to pay holds back


class Rule(BaseModel):
    model_config = _STRICT
    name: StrictStr | None = None
    when: When
    actions: tuple[ActionStep, ...] = Field(min_length=1)


class StrategyFile(BaseModel):
    model_config = _STRICT
    strategy: StrategyInfo
    arms: tuple[Arm, ...] = ()
    agencies: tuple[Agency, ...] = ()
    rules: tuple[Rule, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Strategy:
    """A checked strategy: its rules and the policy pack it runs under."""

    source: str
    rules: StrategyFile
    pack: PolicyPack


class StrategyRefused(ValueError):
    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(f"{v.where}: {v.message} ({v.rule})" for v in violations))
        self.violations = violations


def check_strategy(path: str | Path) -> tuple[Strategy | None, list[Violation]]:
    """Read and check a strategy file: the strategy when it is lawful and well-formed, else every violation."""
    path = Path(path)
    try:
        document = tomllib.loads(read_text_capped(path, what="strategy file", cap=STRATEGY_FILE_CAP))
    except FileRefused as error:
        return None, [Violation("syntax", _SYNTAX_SOURCE, str(path), str(error).removeprefix(f"{path}: "))]
    except tomllib.TOMLDecodeError as error:
        return None, [Violation("syntax", _SYNTAX_SOURCE, str(path), f"not valid TOML: {error}; fix the syntax")]
    return check_document(document, str(path))


def check_document(document: dict[str, Any], source: str) -> tuple[Strategy | None, list[Violation]]:
    """:func:`check_strategy` on an already parsed document; ``source`` names it in ``where``. Each piece (the
    ``[strategy]`` table, each arm, each rule's ``when``, each action) is checked on its own, so one malformed
    action does not hide what is wrong with the others."""
    violations: list[Violation] = []

    def schema(where: str, message: str) -> None:
        violations.append(Violation("schema", _SCHEMA_SOURCE, f"{source}: {where}", message))

    def validated(model: type[_Model], value: Any, where: str) -> _Model | None:
        try:
            return model.model_validate(value)
        except ValidationError as error:
            for item in error.errors():
                at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
                message = error_detail(item)
                if item["loc"][-1:] == ("action",) and item["type"] == "enum":
                    message = f"unknown action {item['input']!r}; use one of {', '.join(a.value for a in Action)}"
                schema(f"{where}{at}", message)
            return None

    unknown = sorted(set(document) - {"strategy", "arms", "agencies", "rules"})
    for key in unknown:
        schema(key, "is not a part of a strategy; use [strategy], [[arms]], [[agencies]] and [[rules]]")
    info = validated(StrategyInfo, document.get("strategy"), "[strategy]")
    pack = PACKS.get(info.jurisdiction) if info is not None else None
    if info is not None and pack is None:
        known = ", ".join(sorted(PACKS))
        schema("[strategy].jurisdiction", f"unknown jurisdiction {info.jurisdiction!r}; use one of {known}")
    arms = [validated(Arm, arm, f"arms[{a}]") for a, arm in enumerate(_list(document, "arms", schema))]
    raw_agencies = enumerate(_list(document, "agencies", schema))
    agencies = [validated(Agency, agency, f"agencies[{a}]") for a, agency in raw_agencies]
    raw_rules = _list(document, "rules", schema)
    if not raw_rules and isinstance(document.get("rules", []), list):
        schema("rules", "a strategy needs at least one [[rules]] table with when and actions")
    placed: list[_Placed] = []  # every rule's when and well-formed actions, by their places in the file
    for r, raw in enumerate(raw_rules):
        if not isinstance(raw, dict):
            schema(f"rules[{r}]", "must be a table with when and actions")
            continue
        for key in sorted(set(raw) - {"name", "when", "actions"}):
            schema(f"rules[{r}].{key}", "is not a part of a rule; a rule has name, when and actions")
        name = raw.get("name")
        if name is not None and not isinstance(name, str):
            schema(f"rules[{r}].name", f"must be a string in quotes (got {name!r})")
            name = None
        if "when" not in raw:
            schema(f"rules[{r}].when", "is missing; say which accounts the rule is for, e.g. when = { dpd_min = 1 }")
        when = validated(When, raw.get("when", {}), f"rules[{r}].when")
        steps = raw.get("actions")
        if not isinstance(steps, list) or not steps:
            schema(f"rules[{r}].actions", "must be a non-empty list of actions [ { action = ... }, ... ]")
            steps = []
        checked = []
        for a, step in enumerate(steps):
            refused = _forbidden(step, pack, source, f"rules[{r}].actions[{a}]")
            violations += refused
            action = None if refused else validated(ActionStep, step, f"rules[{r}].actions[{a}]")
            if action is not None:
                checked.append((a, action))
        placed.append(_Placed(r, name, when, checked))
    declared = None if any(arm is None for arm in arms) else [arm for arm in arms if arm is not None]
    firms = None if any(agency is None for agency in agencies) else [a for a in agencies if a is not None]
    if pack is not None:
        violations += _policy_violations(placed, declared, source, pack)
    violations += _agency_violations(placed, firms, source)
    if violations or info is None or pack is None or declared is None or firms is None:
        return None, violations
    rules = tuple(Rule(name=p.name, when=p.when, actions=tuple(a for _, a in p.actions)) for p in placed if p.when)
    file = StrategyFile(strategy=info, arms=tuple(declared), agencies=tuple(firms), rules=rules)
    return Strategy(source, file, pack), []


@dataclass(frozen=True, slots=True)
class _Placed:
    index: int
    name: str | None
    when: When | None
    actions: list[tuple[int, ActionStep]]


def load_strategy(path: str | Path) -> Strategy:
    """A lawful, well-formed strategy, or :class:`StrategyRefused` with every violation."""
    strategy, violations = check_strategy(path)
    if strategy is None:
        raise StrategyRefused(violations)
    return strategy


def _list(document: dict[str, Any], key: str, schema: Any) -> list[Any]:
    """``[[key]]``: a list of tables; anything else is a violation (a single ``[key]`` table too)."""
    value = document.get(key, [])
    if isinstance(value, list):
        return value
    schema(key, f"must be a list of tables: write [[{key}]] (two brackets) before each one")
    return []


def _forbidden(step: Any, pack: PolicyPack | None, source: str, where: str) -> list[Violation]:
    """An action refused by its name or its addressee, with the rule that forbids it."""
    if not isinstance(step, dict):
        return []
    violations = []
    for key in ("action", "to"):
        value = step.get(key)
        rule = forbidden(pack, value) if isinstance(value, str) else None
        if rule is not None:
            violations.append(
                Violation(rule.name, rule.source, f"{source}: {where}.{key}", f"{value!r} is unlawful: {rule.text}")
            )
    return violations


def _policy_violations(
    placed: list[_Placed], declared: list[Arm] | None, source: str, pack: PolicyPack
) -> list[Violation]:
    """What the policy pack refuses in the well-formed parts of the rules (``declared`` None: the arms are
    malformed, so references to them are not checked)."""
    violations: list[Violation] = []

    def add(rule: str, rule_source: str, where: str, message: str) -> None:
        violations.append(Violation(rule, rule_source, f"{source}: {where}", message))

    arms = [arm.name for arm in declared or ()]
    if arms and sum(arm.share for arm in declared or ()) != 100:
        add("schema", _SCHEMA_SOURCE, "arms", f"arm shares add up to {sum(a.share for a in declared or ())}, not 100")
    if len(set(arms)) != len(arms):
        add("schema", _SCHEMA_SOURCE, "arms", "two arms have the same name; name each arm once")
    start, end = pack.window
    for rule in placed:
        r, when = rule.index, rule.when or When()
        if declared is not None and when.arm is not None and when.arm not in arms:
            names = ", ".join(arms) or "none declared"
            add("schema", _SCHEMA_SOURCE, f"rules[{r}].when.arm", f"arm {when.arm!r} is not declared ({names})")
        for a, step in rule.actions:
            where = f"rules[{r}].actions[{a}]"
            if step.action in NEEDS_TEMPLATE and step.template is None:
                add("schema", _SCHEMA_SOURCE, f"{where}.template", f"{step.action} sends a text: name its template")
            if step.template is not None and step.template not in pack.templates:
                known = ", ".join(sorted(pack.templates))
                add(
                    "schema",
                    _SCHEMA_SOURCE,
                    f"{where}.template",
                    f"unknown template {step.template!r} for {pack.jurisdiction}; use one of {known}",
                )
            if step.at is not None and not start <= step.at <= end:
                add(
                    pack.window_rule.name,
                    pack.window_rule.source,
                    f"{where}.at",
                    f"{step.at:%H:%M} is outside the contact window {start:%H:%M}..{end:%H:%M} (borrower's local "
                    "time); move it inside",
                )
            channel = CONTACTS.get(step.action)
            if channel is not None and channel in pack.daily_caps:
                cap, cap_rule = pack.daily_caps[channel]
                if step.times_per_day > cap:
                    add(
                        cap_rule.name,
                        cap_rule.source,
                        f"{where}.times_per_day",
                        f"{step.times_per_day} a day is above the cap of {cap}: {cap_rule.text}",
                    )
            if channel is not None and channel in pack.rolling_caps:
                cap, days, cap_rule = pack.rolling_caps[channel]
                low, high = when.dpd_min, when.dpd_max
                span = days if low is None or high is None else min(days, high - low + 1)
                if step.times_per_day * span > cap:
                    add(
                        cap_rule.name,
                        cap_rule.source,
                        f"{where}.times_per_day",
                        f"{step.times_per_day} a day over {span} days plans {step.times_per_day * span} attempts, "
                        f"above {cap} in {days} days: {cap_rule.text}",
                    )
            if step.action is Action.AGENCY_RECALL and step.after_days is None:
                add("schema", _SCHEMA_SOURCE, f"{where}.after_days", "agency_recall needs after_days (days placed)")
    return violations


def _agency_violations(placed: list[_Placed], declared: list[Agency] | None, source: str) -> list[Violation]:
    """Placements need agencies to go to: ``agency = "any"`` (or none named) allocates across the declared
    agencies by share, a named agency must be declared; shares add up to 100, names are unique and not "any";
    ``agency`` belongs to placements and ``after_days`` to recalls only."""
    violations: list[Violation] = []
    agencies = declared or []  # None: some agency is malformed, so names are not checked against them
    names = [agency.name for agency in agencies]
    if agencies and sum(agency.share for agency in agencies) != 100:
        shares = sum(agency.share for agency in agencies)
        violations.append(Violation("schema", _SCHEMA_SOURCE, f"{source}: agencies", f"shares add up to {shares}"))
    if len(set(names)) != len(names):
        violations.append(Violation("schema", _SCHEMA_SOURCE, f"{source}: agencies", "two agencies share a name"))
    if ANY_AGENCY in names:
        message = f"{ANY_AGENCY!r} is reserved (a placement with agency = {ANY_AGENCY!r} allocates by share)"
        violations.append(Violation("schema", _SCHEMA_SOURCE, f"{source}: agencies", message))
    for rule in placed:
        for a, step in rule.actions:
            at = f"{source}: rules[{rule.index}].actions[{a}]"
            if step.agency is not None and step.action is not Action.AGENCY_PLACEMENT:
                message = f"agency is for agency_placement only; {step.action} does not choose an agency"
                violations.append(Violation("schema", _SCHEMA_SOURCE, f"{at}.agency", message))
            if step.after_days is not None and step.action is not Action.AGENCY_RECALL:
                message = f"after_days is for agency_recall only (days placed before the recall), not {step.action}"
                violations.append(Violation("schema", _SCHEMA_SOURCE, f"{at}.after_days", message))
            if step.action is not Action.AGENCY_PLACEMENT or declared is None:
                continue
            where = f"{source}: rules[{rule.index}].actions[{a}].agency"
            wanted = step.agency or ANY_AGENCY
            if wanted == ANY_AGENCY and not agencies:
                message = "agency_placement needs [[agencies]] (name, share, commission) to allocate across"
                violations.append(Violation("schema", _SCHEMA_SOURCE, where, message))
            elif wanted != ANY_AGENCY and wanted not in names:
                known = ", ".join(names) or "none declared"
                message = f"agency {wanted!r} is not declared in [[agencies]] ({known})"
                violations.append(Violation("schema", _SCHEMA_SOURCE, where, message))
    return violations
