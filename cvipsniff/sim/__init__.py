"""Reference peers, protocol encoders and the capture synthesizer.

Encoders live here, not in :mod:`dissectors`, so the two never share a mistake.
"""
