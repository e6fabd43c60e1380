"""The REST service (``arrears serve``): FastAPI over the service layer, with tokens, roles and the audit log."""
