"""The run machinery: stage registry, parameters, run-folder I/O, execution, report, CLI.

Nothing in :mod:`channelops.stages` or :mod:`channelops.ingest` imports this package.
"""
