"""PostgreSQL backend: Django's own, plus what the legacy schema needs.

Set as ``ENGINE`` by ecomind/config.py for every ``postgres://`` URL.
"""
