"""arrears: a consumer-loan servicing and collections engine, exact to the cent and lawful by construction.

The domain modules (money, terms, schedule, engine, classification, payoff, credit_line, disclosure) are pure:
they know nothing of databases, HTTP or the wall clock. Entry points (the CLI) sit outside and call them.
"""

__version__ = "0.1.0"
