"""Every exit code of EcoMind's commands, in one place.

The same four meanings for every command, so a deploy job or a cron wrapper
can act on the code alone (the README, "Operating it"):

* ``OK`` (0): done, or nothing to do; a check that passed.
* ``FOUND`` (1): the command ran and found what it exists to find: drift
  (``verify_schema``), a refusal (``baseline``), a failed and rolled-back
  migration (``migrate``), unsafe migrations (``check_migrations``),
  divergent roll-ups (``verify_rollups``).
* ``CANNOT_RUN`` (2): it could not do its job: a bad flag or argument, a
  wrong configuration (``DATABASE_URL``, ``SECRET_KEY``), an unreachable or
  unreadable database, a change not confirmed. Nothing was changed.
* ``LOCK_TIMEOUT`` (3): ``migrate`` gave up waiting for a table lock (after
  its retries); rolled back, safe to re-run. Also ``repair_rollups``, for
  the daily tables' lock on one day (the days before it are repaired).

Kept free of Django imports: ``manage.py`` reads it before settings load.
"""

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FOUND = 1
    CANNOT_RUN = 2
    LOCK_TIMEOUT = 3
