"""The doors: the command line (:mod:`.cli`), the REST API (:mod:`.api`) and the web pages (:mod:`.web`).

Each is thin: it parses, calls the service layer, and formats. Services and adapters are built in one place,
:mod:`.bootstrap`."""
