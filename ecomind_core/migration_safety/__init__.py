"""Migrations that are safe on big production tables, from writing to shipping.

* ``operations``: the safe operations ``makemigrations`` writes (indexes
  built concurrently, constraints NOT VALID then VALIDATE, ...);
* ``autodetector``: ``makemigrations``' choice of those operations;
* ``stages``: pre-deploy and post-deploy migrations (django-syzygy);
* ``graph``: Django's migration graph, read (states at a node, what is applied);
* ``check``, ``rendering``, ``linters``, ``rules``: ``check_migrations``,
  each operation rendered to the PostgreSQL it runs (no server), read by
  django-migration-linter, squawk and EcoMind's own rules.
"""
