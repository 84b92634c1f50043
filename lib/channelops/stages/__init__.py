"""One package per stage of the run. A stage imports :mod:`channelops.ingest` and the
stage-neutral modules, never another stage: stages meet through the run's tables.
"""
