"""One router per resource; :func:`arrears.entrypoints.api.app.create_app` includes them in :data:`ROUTERS`'
order."""

from fastapi import APIRouter

from arrears.entrypoints.api.routers import (
    approvals,
    borrowers,
    collections,
    credit,
    hardship,
    legal,
    loans,
    products,
    reports,
)

ROUTERS: tuple[APIRouter, ...] = (
    borrowers.router,
    loans.router,
    hardship.router,
    credit.router,
    legal.router,
    approvals.router,
    products.router,
    reports.router,
    collections.router,
)
