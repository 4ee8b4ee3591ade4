"""A copy of this checkout in a temporary directory, as a fresh clone would hold it.

For tests that must change the project's own files (a model edit, a new
migration) or run it from somewhere else, without touching the checkout
under test or another run's.
"""

import shutil
import subprocess
import sys

from tests.dbtools import ROOT, manage_env


def copy_checkout(destination):
    """The files a fresh clone of this working tree holds (tracked, plus new unignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for relative in filter(None, listed):
        source = ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def manage_in(checkout, *args, env=None, database=None, timeout=300):
    """``python manage.py ARGS`` run in ``checkout`` (with this test run's interpreter).

    Without ``database``, on the checkout's own embedded SQLite file.
    """
    own_sqlite = {} if database else {"DATABASE_URL": None, "SQLITE_PATH": None}
    full_env = manage_env({**own_sqlite, **(env or {})}, database)
    full_env["PYTHONPATH"] = str(checkout)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=checkout, env=full_env, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL,
    )


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
