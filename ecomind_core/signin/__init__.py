"""Staff sign-in to the admin (docs/admin.md, "Signing in").

* ``client_address``: the client's address, believing ``X-Forwarded-For``
  only from ``TRUSTED_PROXIES``;
* ``lockout``: the page django-axes shows after repeated failures;
* ``two_factor``: django-otp devices, codes and recovery codes;
* ``audit``: one audit row per sign-in, failed sign-in, sign-out and lockout.

The login form and the audit log's "Sign-ins" filter are in the admin
(``ecomind_core/admin/login.py``, ``audit_logs.py``).
"""
