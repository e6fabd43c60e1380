"""Collection letters as PDF (the ``letter`` channel): an A4 letter with the lender's letterhead, the reference,
the date and the addressee, then the message body of :func:`arrears.collections.messages.render`, over as many
pages as it takes, numbered ``1/2``.

**Chinese without a font file.** Chinese is set in ``STSong-Light``, one of Adobe's CID fonts that PDF readers
provide themselves: the PDF names the font and its character collection (Adobe-GB1), and the text is written as
UCS-2 code points under the CMap ``UniGB-UCS2-H``; no glyphs are embedded. So there is nothing to license, ship
or embed, and the text stays searchable. What a reader needs: that CMap and any Adobe-GB1 font (Acrobat's Asian
font pack, pdf.js and Preview built in, Poppler with poppler-data); it decides the exact look, and a PDF that
embeds no font is not PDF/A. English is set in Helvetica, which shows only Windows-1252, so Chinese inside an
English letter (a borrower named 张三) is set in STSong-Light run by run rather than printed as black boxes.

**Chinese wraps per character** (``wordWrap="CJK"``), not at spaces. reportlab hangs 。、）】 in the margin rather
than start a line with them, but not ，：；！？. Chinese letters indent paragraphs two characters and close with the
lender and the date on the right; English letters are dated at the top.

**Same input, same bytes**: ``invariant=True`` for this document only (a fixed creation date, hence a fixed file
id), never the global ``rl_config.invariant``. Text is escaped for reportlab's paragraph markup: ``<b>&`` in a
name prints as written.

>>> from datetime import date
>>> pdf = letter_pdf(text="Please pay.", language="en-US", lender="Example Bank", recipient="Jane Roe",
...                  on=date(2026, 11, 29), reference="Loan 17 · outbox-42")
>>> pdf[:5]
b'%PDF-'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from itertools import groupby
from typing import Any
from xml.sax.saxutils import escape

from babel.dates import format_date
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    HRFlowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)
from reportlab.platypus.flowables import CallerMacro

from arrears.errors import InputRejected

CHINESE_FONT = "STSong-Light"
"""Adobe's CID font for simplified Chinese: supplied by the reader, so nothing is embedded."""

_MARGIN = 20 * mm
_GREY = "#666666"
_PAGES_FORM = "arrearsPageCount"
"""The form XObject that prints ``/N``: drawn on every page, defined once the last page is known."""


@dataclass(frozen=True, slots=True)
class _Language:
    locale: str  # Babel's
    font: str  # the body font
    bold: str  # the letterhead's font
    to: str  # before the recipient's name
    word_wrap: str | None
    first_line_indent: float
    leading: float
    closing: bool  # the lender and the date after the body (Chinese), else the date at the top


_LANGUAGES = {
    "zh-CN": _Language("zh_CN", CHINESE_FONT, CHINESE_FONT, "致：", "CJK", 22, 18, closing=True),
    "en-US": _Language("en_US", "Helvetica", "Helvetica-Bold", "To: ", None, 0, 15, closing=False),
}
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # never meant to print; line breaks are split off first


def letter_pdf(*, text: str, language: str, lender: str, recipient: str, on: date, reference: str) -> bytes:
    """The letter as a PDF: ``text`` (the rendered message, paragraphs separated by blank lines) from ``lender`` to
    ``recipient``, dated ``on`` in ``language`` (zh-CN or en-US), ``reference`` printed small under the
    letterhead and kept as the document's title. The same arguments give the same bytes."""
    lang = _LANGUAGES.get(language)
    if lang is None:
        raise InputRejected(f"no letters in {language!r}; use one of zh-CN, en-US")
    _register_chinese_font()
    dated = format_date(on, format="long", locale=lang.locale)

    def style(name: str, size: float, leading: float, **extra: Any) -> ParagraphStyle:
        extra.setdefault("fontName", lang.font)
        if lang.word_wrap is not None:
            extra.setdefault("wordWrap", lang.word_wrap)
        return ParagraphStyle(name, fontSize=size, leading=leading, **extra)

    body = style("body", 11, lang.leading, spaceAfter=8, firstLineIndent=lang.first_line_indent)
    right = style("right", 11, lang.leading, alignment=TA_RIGHT)
    story: list[Flowable] = [
        Paragraph(_markup(lender, lang), style("lender", 16, 20, fontName=lang.bold)),
        Paragraph(_markup(reference, lang), style("reference", 8, 10, textColor=_GREY)),
        HRFlowable(width="100%", thickness=0.5, color=_GREY, spaceBefore=4, spaceAfter=12),
    ]
    if not lang.closing:
        story.append(Paragraph(_markup(dated, lang), right))
    story += [Paragraph(_markup(lang.to + recipient, lang), style("to", 11, lang.leading, spaceAfter=10))]
    story += [Paragraph(_markup(part, lang), body) for part in _paragraphs(text)]
    if lang.closing:
        story += [Spacer(0, 12), Paragraph(_markup(lender, lang), right), Paragraph(_markup(dated, lang), right)]
    story.append(CallerMacro(drawCallable=_define_page_count(lang.font)))

    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=reference,
        author=lender,
        creator="arrears",
        lang=language,
        invariant=True,  # this document only; rl_config.invariant stays as it is
    )
    footer = _footer(lang.font)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _register_chinese_font() -> None:
    """Register STSong-Light with reportlab once (a process-wide registry; registering again is harmless)."""
    if CHINESE_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE_FONT))


def _paragraphs(text: str) -> list[str]:
    """The paragraphs of ``text``: split at blank lines, single newlines kept as line breaks."""
    text = "\n".join(text.splitlines()).strip()  # \r\n and friends as \n
    return [part.strip() for part in _PARAGRAPH_BREAK.split(text) if part.strip()]


def _markup(text: str, lang: _Language) -> str:
    """``text`` as reportlab paragraph markup: control characters dropped, escaped, line breaks as ``<br/>``, and
    (under Helvetica) every run Helvetica cannot show set in STSong-Light."""
    lines = [_CONTROL.sub("", line) for line in text.splitlines()]
    if lang.font == CHINESE_FONT:
        return "<br/>".join(escape(line) for line in lines)
    return "<br/>".join(
        "".join(
            f'<font face="{CHINESE_FONT}">{escape("".join(run))}</font>' if foreign else escape("".join(run))
            for foreign, run in groupby(line, key=_not_in_helvetica)
        )
        for line in lines
    )


def _not_in_helvetica(char: str) -> bool:
    """Whether Helvetica cannot show ``char``: reportlab sets the standard fonts in Windows-1252 (WinAnsi)."""
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return True
    return False


def _footer(font: str) -> Callable[[Canvas, BaseDocTemplate], None]:
    """The page callback: ``n`` ends at the page's centre, ``/N`` (the form, defined at the end) starts there."""

    def draw(canvas: Canvas, document: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(_GREY)
        canvas.drawRightString(A4[0] / 2, _MARGIN / 2, str(document.page))
        canvas.doForm(_PAGES_FORM)
        canvas.restoreState()

    return draw


def _define_page_count(font: str) -> Callable[..., None]:
    """The last flowable's drawing: it defines the ``/N`` form on the last page, where N is the page number (a PDF
    may use a form before it defines it; the form holds page coordinates)."""

    def define(flowable: Flowable, *_: float) -> None:  # reportlab passes the flowable; types-reportlab adds w, h
        canvas = flowable.canv
        canvas.beginForm(_PAGES_FORM)
        canvas.setFont(font, 8)
        canvas.setFillColor(_GREY)
        canvas.drawString(A4[0] / 2, _MARGIN / 2, f"/{canvas.getPageNumber()}")
        canvas.endForm()

    return define
