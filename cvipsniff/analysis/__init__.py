"""Pairing, conformance findings and statistics over the pipeline's messages."""
