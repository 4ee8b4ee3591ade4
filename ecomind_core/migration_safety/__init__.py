"""Proving that a migration is safe before it ships (``manage.py check_migrations``).

``rendering`` turns each operation of a migration into the PostgreSQL it
runs, with no server; ``findings`` runs django-migration-linter's and
squawk's rules over that SQL, plus EcoMind's own (the worker's writes,
stages); ``reviewed`` reads the exceptions a migration accepts after review.
"""
