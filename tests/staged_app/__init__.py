"""A test app whose last migration is post-deploy (a column drop), for the readiness tests.

Installed only by ``tests.staged_app.settings`` (production settings plus
this app), which the readiness tests give the real server.
"""
