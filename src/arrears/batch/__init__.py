"""The portfolio day-end over columnar batches of loans: state (:mod:`.state`) and pipeline (:mod:`.pipeline`)."""
