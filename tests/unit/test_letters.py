"""Collection letters as PDF: A4, numbered pages, the same bytes for the same input; a PDF reader gets the text
back in English and in Chinese (STSong-Light, a CID font the reader supplies: UCS-2 code points, no font file);
markup in a name prints as written; languages other than zh-CN and en-US are refused."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader
from pypdf.generic import ByteStringObject, ContentStream, DictionaryObject, TextStringObject
from reportlab import rl_config

from arrears.collections.letters import letter_pdf
from arrears.collections.messages import MessageFacts, render
from arrears.collections.policy import CN, US, Channel
from arrears.errors import InputRejected

ON = date(2026, 11, 29)
REFERENCE = "Loan 17 · outbox-42"
FACTS = MessageFacts(
    lender="示例银行",
    name="张三",
    loan=17,
    days_past_due=9,
    overdue=123_456,
    currency="CNY",
    pay_by=date(2026, 12, 6),
    dispute_by=date(2026, 12, 29),
)
ENGLISH = replace(FACTS, lender="Example Bank", name="Jane Roe", currency="USD")


def _english(
    *,
    text: str | None = None,
    language: str = "en-US",
    lender: str = "Example Bank",
    recipient: str = "Jane Roe",
    on: date = ON,
) -> bytes:
    if text is None:
        text = render("validation_notice", "en-US", Channel.LETTER, US, ENGLISH)
    return letter_pdf(text=text, language=language, lender=lender, recipient=recipient, on=on, reference=REFERENCE)


def _chinese(*, text: str | None = None, lender: str = "示例银行", recipient: str = "张三") -> bytes:
    if text is None:
        text = render("final_notice", "zh-CN", Channel.LETTER, CN, FACTS)
    return letter_pdf(text=text, language="zh-CN", lender=lender, recipient=recipient, on=ON, reference=REFERENCE)


def _read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(BytesIO(pdf))


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def _fonts(reader: PdfReader) -> dict[str, DictionaryObject]:
    """Every font the pages use, by base font name."""
    fonts: dict[str, DictionaryObject] = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].get_object().values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    return fonts


def test_an_english_letter_is_one_a4_page_with_the_text_a_reader_extracts() -> None:
    reader = _read(_english())
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert [round(float(v) / 72 * 25.4) for v in page.mediabox[2:]] == [210, 297]  # A4, in mm
    text = page.extract_text()
    for expected in ("Example Bank", "Loan 17 · outbox-42", "November 29, 2026", "To: Jane Roe", "$1,234.56"):
        assert expected in text
    assert "You may dispute all or part of this debt by December 29, 2026" in text
    assert re.search(r"\b1\s*/1\b", text)  # the footer
    assert reader.metadata is not None
    assert (reader.metadata.title, reader.metadata.author) == ("Loan 17 · outbox-42", "Example Bank")
    assert reader.trailer["/Root"]["/Lang"] == "en-US"
    assert set(_fonts(reader)) >= {"/Helvetica", "/Helvetica-Bold"}


def test_the_same_letter_gives_the_same_bytes_without_touching_reportlabs_global_setting() -> None:
    invariant = rl_config.invariant
    assert _english() == _english()
    assert _chinese() == _chinese()
    assert _english() != _english(on=date(2026, 11, 30))
    assert rl_config.invariant == invariant
    assert _read(_english()).metadata["/CreationDate"] == "D:20000101000000+00'00'"  # fixed, not the clock


@pytest.mark.parametrize("language", ["en-US", "zh-CN"])
def test_a_long_letter_runs_over_pages_numbered_n_of_total(language: str) -> None:
    paragraph = "Paragraph {} says what is owed and by when." if language == "en-US" else "第{}段：您的借款已逾期。"
    text = "\n\n".join(paragraph.format(i) for i in range(200))
    reader = _read(_english(text=text) if language == "en-US" else _chinese(text=text))
    total = len(reader.pages)
    assert total > 1
    for number, page in enumerate(reader.pages, start=1):
        assert re.search(rf"(?<!\d){number}\s*/{total}\b", page.extract_text())
    everything = _text(reader)
    assert all(paragraph.format(i) in everything for i in (0, 99, 199))  # nothing lost at the page breaks


def _raw(string: TextStringObject | ByteStringObject) -> bytes:
    """The bytes of a PDF string as written (pypdf decodes some into text)."""
    return string.get_original_bytes() if isinstance(string, TextStringObject) else bytes(string)


def test_a_chinese_letter_reads_back_through_the_cid_font() -> None:
    reader = _read(_chinese())
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for expected in ("【示例银行】张三您好", "已逾期9天", "¥1,234.56", "致：张三", "2026年11月29日"):
        assert expected in text
    assert reader.metadata is not None and reader.metadata.author == "示例银行"
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    # How: a Type0 font naming STSong-Light and the UniGB-UCS2-H CMap, no glyphs embedded ...
    font = _fonts(reader)["/STSong-Light"]
    assert (font["/Subtype"], font["/Encoding"]) == ("/Type0", "/UniGB-UCS2-H")
    descendant = font["/DescendantFonts"][0].get_object()
    assert descendant["/CIDSystemInfo"]["/Ordering"] == "GB1"
    assert not {"/FontFile", "/FontFile2", "/FontFile3"} & set(descendant["/FontDescriptor"].get_object())
    # ... and the page shows UCS-2 code points (UTF-16BE), whatever a reader makes of the font.
    shown = ContentStream(reader.pages[0].get_contents(), reader).operations
    strings = b"".join(_raw(operands[0]) for operands, operator in shown if operator == b"Tj")
    assert "逾期".encode("utf-16-be") in strings and "张三".encode("utf-16-be") in strings


def test_chinese_wraps_between_characters() -> None:
    # Runs of 30 characters between spaces: wrapped as words (reportlab's default), each would take a line of its
    # own, leaving a quarter of every line empty; wrapped per character, lines are full.
    text = " ".join(["逾期" * 15] * 6)
    lines = _read(_chinese(text=text)).pages[0].extract_text().splitlines()
    body = [line.replace(" ", "") for line in lines if "逾期逾期" in line]
    assert "".join(body) == text.replace(" ", "")
    assert len(body) == 5 and all(len(line) >= 40 for line in body[:-1])  # 170 mm of 11 pt characters


def test_markup_in_names_prints_as_written() -> None:
    english = _read(_english(recipient="Jane <b>& Co</b>", lender="A&B <i>Credit</i>"))
    text = english.pages[0].extract_text()
    assert "To: Jane <b>& Co</b>" in text and "A&B <i>Credit</i>" in text
    assert english.metadata is not None and english.metadata.author == "A&B <i>Credit</i>"
    chinese = _read(_chinese(recipient="张<b>&三", text="第一段 <b>&amp; 不是标记\n同一段第二行\n\n第二段"))
    text = chinese.pages[0].extract_text()
    assert "致：张<b>&三" in text and "<b>&amp; 不是标记" in text and "第二段" in text


def test_windows_line_ends_make_the_same_paragraphs_and_control_characters_are_dropped() -> None:
    unix = _read(_english(text="First line\nsecond line\n\nNext paragraph")).pages[0].extract_text()
    windows = _read(_english(text="First line\r\nsecond\x00 line\r\n \r\nNext paragraph")).pages[0].extract_text()
    assert windows == unix and "First line\nsecond line\nNext paragraph" in unix


def test_chinese_in_an_english_letter_is_set_in_the_cid_font_not_dropped() -> None:
    reader = _read(_english(recipient="张三 (Zhang San)", lender="示例银行 Example Bank"))
    text = reader.pages[0].extract_text()
    assert "To: 张三 (Zhang San)" in text and "示例银行 Example Bank" in text
    assert "/STSong-Light" in _fonts(reader) and "/ZapfDingbats" not in _fonts(reader)  # no black boxes


@pytest.mark.parametrize("language", ["zh", "en", "fr-FR", ""])
def test_other_languages_are_refused_naming_the_two(language: str) -> None:
    with pytest.raises(InputRejected, match=r"zh-CN, en-US"):
        _english(language=language)
