"""Time partitions of the two append-only tables, ``events_enriched`` and ``audit_logs``.

On PostgreSQL both are range-partitioned by ``ts``, one partition per
calendar month (UTC), after migration 0006 (``ConvertToMonthlyPartitions``):

* months.py: the monthly bounds and the partitions' names;
* inventory.py: the partitions a table has now, read from the catalog;
* conversion.py: the online conversion of a plain table, and its way back;
* maintenance.py: partitions made ahead of time (``maintain_partitions``);
* retention.py: old partitions detached and dropped (``retention``).

Why monthly: the admin's periods and the retention periods (400 days, 7
years) are whole months or more, so a month is the unit retention drops; at
the measured ingest rates a month of events is a partition of a few GB at
most (docs/scale-out.md), small enough to detach and drop in a moment and
few enough (12 a year) that planning over them stays cheap.

SQLite (the local demo) keeps plain tables: the option is PostgreSQL's only.
"""
