"""Staff sign-in to the admin (docs/admin.md, "Signing in").

* ``client_address``: the client's address, believing ``X-Forwarded-For``
  only from ``TRUSTED_PROXIES``;
* ``lockout``: the page django-axes shows after repeated failures;
* ``two_factor``: django-otp devices, codes and recovery codes;
* ``enrolment_links``: one-time, expiring links with which staff set up
  two-factor sign-in themselves; ``enrolment_pages``: the pages such a link
  opens (password, the QR code drawn by ``qr_code``, recovery codes once);
* ``audit``: one audit row per sign-in, failed sign-in, sign-out and lockout;
* ``proxy_check``: ``check --deploy`` without ``TRUSTED_PROXIES``.

The login form, the audit log's "Sign-ins" filter and the superusers' page
that issues enrolment links are in the admin (``ecomind_core/admin/login.py``,
``audit_logs.py``, ``enrolment_links.py``).
"""
