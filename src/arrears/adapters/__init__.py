"""Adapters: the outside world (databases, files). The domain imports nothing from here."""
