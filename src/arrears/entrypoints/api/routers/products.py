"""The products the lender offers (the catalogue, ``ARREARS_PRODUCTS_DIR``), as a borrower is shown them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from arrears.access import Permission, Principal, authorize
from arrears.entrypoints.api.deps import Caller, Json, Products
from arrears.service_layer.catalogue import product_view

router = APIRouter(tags=["products"])


def published(principal: Principal, permission: Permission) -> None:
    """Authorize a read of what belongs to no borrower (the product terms): the role alone decides, so a
    borrower's and an agency's scope are their own."""
    authorize(principal, permission, borrower=principal.borrower, placed_with={principal.agency or ""})


@router.get("/products", response_model=list[dict[str, Any]])
def products(principal: Caller, catalogue: Products) -> Json:
    """The products the lender offers, as a borrower is shown them: limits, drawdown rules, rates, terms, the
    grace period, penalty and compound interest, and the restrictions the contract allows."""
    published(principal, Permission.READ_PRODUCTS)
    return Json([product_view(product) for product in catalogue.products.values()])


@router.get("/products/{code}", response_model=dict[str, Any])
def product(code: Annotated[str, Path(min_length=1, max_length=64)], principal: Caller, catalogue: Products) -> Json:
    """One product the lender offers, by its code."""
    published(principal, Permission.READ_PRODUCTS)
    return Json(product_view(catalogue.product(code)))
