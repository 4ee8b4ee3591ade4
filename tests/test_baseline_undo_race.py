"""``baseline --undo`` racing a deploy's ``migrate``: later migrations never end up on unrecorded ones.

``--undo`` shows its plan, asks, and only then takes the migration lock that
``migrate`` holds; under it, it inspects the database again and refuses if
anything changed since the plan it showed.
"""

import subprocess
import sys
import time

from ecomind_core.db.locking import lock_id
from tests import dbtools
from tests.dbtools import manage
from tests.test_baseline import audit_rows, build


def recorded(dbname):
    if "django_migrations" not in dbtools.public_tables(dbname):
        return []
    return [r[0] for r in dbtools.execute(dbname, "SELECT name FROM django_migrations WHERE app = 'ecomind_core' ORDER BY name")]


def start(dbname, *args, stdin=subprocess.DEVNULL):
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=dbtools.ROOT, env=dbtools.manage_env(database=dbname),
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def adopted(dbname):
    build(dbname, "001", data=False)
    result = manage("baseline", "--no-input", database=dbname)
    assert result.returncode == 0, result.stdout + result.stderr
    assert recorded(dbname) == ["0001_initial"]


def test_a_migrate_that_runs_while_undo_asks_makes_undo_refuse(scratch_db):
    adopted(scratch_db)
    undo = start(scratch_db, "baseline", "--undo", stdin=subprocess.PIPE)
    shown = ""
    while "Type 'yes' to continue" not in shown:  # the plan is on screen, the question asked
        shown += undo.stdout.read(1)
        assert undo.poll() is None, shown
    assert "Would remove the records of: ecomind_core.0001_initial" in shown

    migrated = manage("migrate", "--no-input", database=scratch_db)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    after_migrate = recorded(scratch_db)
    assert len(after_migrate) > 1

    out, err = undo.communicate("yes\n", timeout=120)
    assert undo.returncode == 1, out + err
    assert err.count("\n") == 1 and "baseline refused" in err and "later migrations" in err
    assert recorded(scratch_db) == after_migrate, "nothing written"
    assert audit_rows(scratch_db, "schema.baseline_undo") == []
    assert manage("verify_schema", database=scratch_db).returncode == 0


def test_undo_and_migrate_queued_on_the_lock_end_consistent_whichever_goes_first(scratch_db):
    adopted(scratch_db)
    holder = dbtools.connect(scratch_db)
    holder.execute("SELECT pg_advisory_lock(%s)", [lock_id()])
    undo = start(scratch_db, "baseline", "--undo", "--no-input")
    migrate = start(scratch_db, "migrate", "--no-input")
    time.sleep(3)  # both are polling for the lock
    assert undo.poll() is None and migrate.poll() is None
    holder.execute("SELECT pg_advisory_unlock(%s)", [lock_id()])
    holder.close()
    undo_out, undo_err = undo.communicate(timeout=180)
    migrate_out, migrate_err = migrate.communicate(timeout=180)

    if undo.returncode == 0:  # undo went first: migrate then refuses the unadopted database
        assert migrate.returncode == 1, migrate_out + migrate_err
        assert "baseline --dry-run" in migrate_err and "Nothing was written" in migrate_err
        assert recorded(scratch_db) == []
    else:  # migrate went first: undo refuses what it finds under the lock
        assert migrate.returncode == 0, migrate_out + migrate_err
        assert undo.returncode == 1 and "later migrations" in undo_err, undo_out + undo_err
        assert recorded(scratch_db)[0] == "0001_initial" and len(recorded(scratch_db)) > 1
    # Never later migrations on top of unrecorded initial ones.
    names = recorded(scratch_db)
    assert names == [] or names[0] == "0001_initial"
