"""ImageServer reference peers: encoders, a recording server, a scripted client, scenarios.

Written from ``imageserver-protocol.txt`` alone and independently of
:mod:`dissectors.imageserver`, so the peers and the dissector cannot share a mistake.
"""
