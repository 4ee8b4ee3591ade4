"""The audit trail (``audit_logs``): how rows are written and what they mean.

``records``: one place that turns who/what/before/after into a row, and the
actions other commands rely on. Sign-in rows are written by
``ecomind_core/signin/audit.py`` through it.
"""
