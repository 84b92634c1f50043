"""The intake: the data contract (dataset.yaml, mappings), reading and validating every
export, canonical form, de-duplication and quarantine. Every stage reads its output.
"""
