"""The day-end (日终): one loan's scalar specification (:mod:`.reference`), and the columnar kernel
(:mod:`.kernel` over :mod:`.columns`) that must agree with it on every loan; synthetic books to run it over."""
