"""Service layer: commands, their handlers, one transaction each, idempotent."""
