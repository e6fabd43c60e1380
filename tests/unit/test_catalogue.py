"""The product catalogue: every product file of a folder, validated; what a borrower is shown of each."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.adapters.store import NotFound
from arrears.domain.product import ProductError
from arrears.errors import InputRejected
from arrears.service_layer.catalogue import load_catalogue, product_view
from tests.support.paths import SAMPLE_PRODUCT


def test_a_folder_of_products_is_offered_by_code(tmp_path: Path) -> None:
    text = SAMPLE_PRODUCT.read_text(encoding="utf-8")
    (tmp_path / "b.toml").write_text(text, encoding="utf-8")
    (tmp_path / "a.toml").write_text(
        text.replace('code = "cn-microcredit"', 'code = "cn-cheaper"').replace(
            'daily_rate = "0.0005"', 'daily_rate = "0.0003"'
        ),
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("not a product", encoding="utf-8")
    catalogue = load_catalogue(tmp_path)
    assert list(catalogue.products) == ["cn-cheaper", "cn-microcredit"]
    cheaper = product_view(catalogue.product("cn-cheaper"))
    assert (cheaper["daily_rate"], cheaper["simple_annual_rate_percent"]) == ("0.0003", "10.95")  # x 365
    with pytest.raises(NotFound, match="cn-cheaper, cn-microcredit"):
        catalogue.product("cn-payday")
    with pytest.raises(InputRejected, match="not offered"):
        catalogue.offered("cn-payday")


def test_a_broken_or_doubled_product_stops_the_catalogue_naming_the_file(tmp_path: Path) -> None:
    text = SAMPLE_PRODUCT.read_text(encoding="utf-8")
    (tmp_path / "one.toml").write_text(text, encoding="utf-8")
    (tmp_path / "two.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ProductError, match=r"two\.toml: product code 'cn-microcredit' is also .*one\.toml"):
        load_catalogue(tmp_path)
    (tmp_path / "two.toml").write_text(text.replace('daily_rate = "0.0005"', "daily_rate = 0.0005"), encoding="utf-8")
    with pytest.raises(ProductError, match=r"two\.toml"):
        load_catalogue(tmp_path)


def test_a_missing_folder_offers_nothing_and_says_where_products_go(tmp_path: Path) -> None:
    catalogue = load_catalogue(tmp_path / "nowhere")
    assert dict(catalogue.products) == {}
    with pytest.raises(InputRejected, match="ARREARS_PRODUCTS_DIR"):
        catalogue.offered("cn-microcredit")


def test_a_clamped_product_shows_the_multiplier_a_line_gets(tmp_path: Path) -> None:
    """Mode clamp at the standard rate 0.0005: 0.24 / 365 / 0.0005 = 1.31506849 (rounded down), not the 1.5 the
    file names: the borrower is shown what they would be charged."""
    text = SAMPLE_PRODUCT.read_text(encoding="utf-8").replace('mode = "warn"', 'mode = "clamp"')
    (tmp_path / "clamped.toml").write_text(text, encoding="utf-8")
    view = product_view(load_catalogue(tmp_path).product("cn-microcredit"))
    assert view["penalty_multiplier"] == "1.31506849"
