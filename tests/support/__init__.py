"""What the tests share, under public names: a test module imports its helpers and fixtures from here, never from
another test module.

- :mod:`tests.support.paths`: where the repository, the scenarios, the sample product and strategy, and shared/ are;
- :mod:`tests.support.cli`: ``arrears`` in a real subprocess, and a SQLite store with one loan driven through it;
- :mod:`tests.support.stores`: stores built through the service layer (one loan, two loans day-ended, a ``Book``);
- :mod:`tests.support.api`: the app served by uvicorn on 127.0.0.1, and the ``api`` fixture (a token per role);
- :mod:`tests.support.web`: signing in to the pages and reading a form's CSRF token and key;
- :mod:`tests.support.browser`: Debian's Chromium driven by Playwright (the module-scoped ``browser`` fixture);
- :mod:`tests.support.channels`: a real HTTP server standing for a message provider (the ``provider`` fixture);
- :mod:`tests.support.books`: a store holding a loan in every state a page must show;
- :mod:`tests.support.datasets`: what a Parquet dataset holds after its day-ends, read back for comparison;
- :mod:`tests.support.hypothesis_strategies`: Hypothesis strategies drawing loans and their event histories.

A fixture defined here is used by importing it into the test module (pytest finds fixtures in a module's
namespace), so each keeps the scope it declares (the browser's is the test module).
"""
