"""Adopting an existing database into Django's migrations (``manage.py baseline``).

``inspection`` recognises the shape a database is in and what adopting it
would take; ``recording`` records the baseline (or removes it) in one
transaction.
"""
