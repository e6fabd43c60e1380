"""The portfolio and collections reports as self-contained HTML files: inline SVG charts, inline styles, no
script, nothing fetched from the network (they open in a browser offline). Chinese or English labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from arrears.analytics.portfolio import BUCKETS, CLASSES, REPAID
from arrears.money import format_minor

PALETTE = ["#2f9e44", "#f2c94c", "#f2994a", "#eb5757", "#c2255c", "#862e9c", "#5f3dc4", "#212529"]
LABELS = {
    "en": {
        "title": "Portfolio report",
        "period": "Period",
        "snapshots": "month-end snapshots:",
        "source": "computed from day-end snapshots",
        "cure": "Cure rate (overdue to current, month on month)",
        "fpd": "First-payment default (FPD30)",
        "mix": "Bucket mix over time (open loans)",
        "roll": "Roll rates (迁徙率), % of loans month on month",
        "from_to": "from \\ to",
        "roll_note": "Each row: loans in that bucket on one month-end, and where they were on the next.",
        "classes": "Five-category classification (五级分类)",
        "non_accrual": "Non-accrual balance (outstanding principal, yuan)",
        "vintage30": "Vintage curves: DPD30+ by months on book",
        "vintage90": "Vintage curves: DPD90+ by months on book",
        "vintage_note": "One line per vintage (month of drawdown); share of its loans 30+ / 90+ days past due.",
    },
    "zh": {
        "title": "资产组合报告",
        "period": "期间",
        "snapshots": "月末快照：",
        "source": "根据日终快照计算",
        "cure": "回收率（逾期转正常，逐月）",
        "fpd": "首期违约率（FPD30）",
        "mix": "逾期分布（未结清贷款）",
        "roll": "迁徙率（按笔数，逐月）",
        "from_to": "从 \\ 到",
        "roll_note": "每行：某月末处于该档的贷款，在下一个月末所处的档位。",
        "classes": "五级分类",
        "non_accrual": "非应计贷款余额（未还本金，元）",
        "vintage30": "账龄曲线：DPD30+",
        "vintage90": "账龄曲线：DPD90+",
        "vintage_note": "每条线为一个放款月份；纵轴为该批贷款中逾期 30+ / 90+ 天的占比。",
    },
}
WIDTH, HEIGHT, PAD = 760, 260, 40


def _svg(body: str, legend: Sequence[tuple[str, str]] = ()) -> Markup:
    items = "".join(
        f'<rect x="{PAD + i * 90}" y="6" width="10" height="10" fill="{color}"/>'
        f'<text x="{PAD + i * 90 + 14}" y="15" font-size="11">{escape(name)}</text>'
        for i, (name, color) in enumerate(legend)
    )
    return Markup(
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" role="img">{items}{body}</svg>'
    )


def stacked_bars(labels: list[str], series: dict[str, list[int]]) -> Markup:
    """One bar per label, each stacked from the series in order, scaled to the tallest bar."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    step = (WIDTH - 2 * PAD) / max(len(labels), 1)
    parts = []
    for i, label in enumerate(labels):
        y = float(HEIGHT - PAD)  # a screen coordinate
        for k, values in enumerate(series.values()):
            h = (HEIGHT - 2 * PAD - 10) * values[i] / top
            y -= h
            parts.append(
                f'<rect x="{PAD + i * step + 2:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(label)}: {values[i]}</title></rect>'
            )
        parts.append(
            f'<text x="{PAD + i * step + 2:.1f}" y="{HEIGHT - PAD + 14}" font-size="10">{escape(label)}</text>'
        )
    legend = [(name, PALETTE[k % len(PALETTE)]) for k, name in enumerate(series)]
    return _svg("".join(parts), legend)


def lines(points: dict[str, list[tuple[float, float]]], y_label: str) -> Markup:
    """One polyline per series of (x, y) points, axes from zero to the largest x and y."""
    xs = [x for series in points.values() for x, _ in series] or [1.0]
    ys = [y for series in points.values() for _, y in series] or [1.0]
    x_top, y_top = max(xs) or 1.0, max(ys) or 1.0
    parts = [f'<text x="4" y="{PAD - 6}" font-size="10">{escape(y_label)} max {y_top:g}</text>']
    for k, (name, series) in enumerate(points.items()):
        coords = " ".join(
            f"{PAD + (WIDTH - 2 * PAD) * x / x_top:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD - 10) * y / y_top:.1f}"
            for x, y in series
        )
        parts.append(
            f'<polyline fill="none" stroke-width="2" stroke="{PALETTE[k % len(PALETTE)]}" points="{coords}">'
            f"<title>{escape(name)}</title></polyline>"
        )
    parts.append(f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>')
    legend = [(name, PALETTE[k % len(PALETTE)]) for k, name in enumerate(points)][:8]
    return _svg("".join(parts), legend)


def _heat(cell: dict[str, Any]) -> str:
    if not cell["denominator"]:
        return "#ffffff"
    share = cell["numerator"] / cell["denominator"]  # a colour, not money
    return f"rgba(235, 87, 87, {0.08 + 0.7 * share:.2f})"


def charts(report: dict[str, Any]) -> dict[str, Markup]:
    """The portfolio report's charts (:func:`arrears.analytics.portfolio.portfolio_report`): bucket mix and classes over
    month-ends, non-accrual balance, DPD30+ and DPD90+ vintage curves; offline SVG, for the report file and the
    console's dashboard alike."""
    days = [entry["day"] for entry in report["bucket_mix"]]
    mix = {b: [entry["count"][b] for entry in report["bucket_mix"]] for b in BUCKETS}
    classes = {c: [entry["count"][c] for entry in report["classification_mix"]] for c in CLASSES}

    def vintage(key: str) -> Markup:
        return lines(
            {
                name: [
                    (float(m), float(rate["percent"]))
                    for m, rate in zip(curve["months_on_book"], curve[key], strict=True)
                    if rate["denominator"]
                ]
                for name, curve in report["vintages"].items()
            },
            "%",
        )

    return {
        "bucket_mix": stacked_bars(days, mix),
        "classification_mix": stacked_bars(days, classes),
        "non_accrual": lines(
            {
                "non-accrual": [  # chart geometry only: the amounts themselves are shown exact in the table
                    (float(i), entry["balance"] / 100) for i, entry in enumerate(report["non_accrual_balance"])
                ]
            },
            "yuan",
        ),
        "vintage30": vintage("dpd30_plus"),
        "vintage90": vintage("dpd90_plus"),
    }


def render(report: dict[str, Any], lang: str = "zh") -> str:
    """The report as HTML (``lang`` zh or en)."""
    environment = Environment(loader=PackageLoader("arrears", "templates"), autoescape=select_autoescape())
    template = environment.get_template("report.html.j2")
    return template.render(
        r=report,
        t=LABELS[lang],
        lang=lang,
        charts=charts(report),
        buckets=BUCKETS,
        targets=[*BUCKETS, REPAID],
        heat=_heat,
    )


COLLECTIONS_LABELS = {
    "en": {
        "title": "Collections: champion / challenger",
        "period": "Period",
        "arm": "Arm",
        "accounts": "Accounts",
        "cure_rate": "Cure rate %",
        "roll_rate": "Roll rate %",
        "recovered": "Recovered",
        "contacts": "Contacts",
        "contacts_per_cure": "Contacts per cure",
        "refusals": "Refusals per planned action %",
        "complaints": "Complaints per contact %",
        "agencies": "Agencies",
        "agency": "Agency",
        "commission": "Commission",
        "note": "Arms are fixed by a hash of the loan. Cured: nothing past due at the last day-end, or repaid.",
    },
    "zh": {
        "title": "催收策略对比（冠军 / 挑战者）",
        "period": "期间",
        "arm": "组别",
        "accounts": "账户数",
        "cure_rate": "回收率 %",
        "roll_rate": "迁徙率（恶化）%",
        "recovered": "回收金额",
        "contacts": "联系次数",
        "contacts_per_cure": "每个回收账户的联系次数",
        "refusals": "被拒动作占计划动作 %",
        "complaints": "投诉占联系次数 %",
        "agencies": "委外机构",
        "agency": "机构",
        "commission": "佣金",
        "note": "组别按贷款哈希固定。回收：最近一次日终时无逾期，或已结清。",
    },
}


def _hundredths(percent: str) -> int:
    """A report percentage ("12.34", or "-" for none) as an integer bar height."""
    return 0 if percent == "-" else int(percent.replace(".", ""))


def render_collections(report: dict[str, Any], lang: str = "zh") -> str:
    """``arrears report collections`` as one offline HTML file (inline SVG bars, one per arm)."""
    environment = Environment(loader=PackageLoader("arrears", "templates"), autoescape=select_autoescape())
    arms = list(report["arms"])
    t = COLLECTIONS_LABELS[lang]

    def bars(label: str, values: list[int]) -> Markup:
        return stacked_bars(arms, {label: values})

    figures = report["arms"].values()
    charts = {
        "cure_rate": bars(t["cure_rate"], [_hundredths(a["cure_rate"]["percent"]) for a in figures]),
        "roll_rate": bars(t["roll_rate"], [_hundredths(a["roll_rate"]["percent"]) for a in figures]),
        "recovered": bars(t["recovered"], [a["recovered"] for a in figures]),
        "refusals": bars(t["refusals"], [_hundredths(a["refusals_per_planned_action"]["percent"]) for a in figures]),
        "complaints": bars(t["complaints"], [_hundredths(a["complaints_per_contact"]["percent"]) for a in figures]),
    }
    template = environment.get_template("collections.html.j2")
    return template.render(r=report, t=t, lang=lang, charts=charts, money=format_minor)
