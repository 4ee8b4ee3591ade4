"""Requests as a load balancer forwards them to the production server: HTTPS ended in front, a staff member signed in.

The public ``Host``, ``X-Forwarded-Proto: https`` (production settings
redirect plain HTTP), a ``Referer`` (Django's CSRF check on HTTPS), and the
session's cookies. ``create_staff`` makes the staff account it signs in as.
"""

import http.client
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from tests.dbtools import manage
from tests.production_server import PUBLIC_HOST

STAFF, STAFF_PASSWORD = "ops", "Ops-staff-Passphrase-2026"


def create_staff(env):
    """``createsuperuser`` as an operator runs it, against the database ``env`` names."""
    return manage("createsuperuser", "--no-input", "--username", STAFF, "--email", "ops@example.com",
                  env={**env, "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD})


class Browser:
    """One client with its cookies; ``sign_in`` as the staff account (the server needs ``ADMIN_REQUIRE_2FA=false``)."""

    def __init__(self, port):
        self.port, self.cookies = port, {}

    def request(self, method, path, body=None, timeout=10):
        headers = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https", "Referer": f"https://{PUBLIC_HOST}/admin/login/",
                   "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update({key: morsel.value for key, morsel in SimpleCookie(header).items()})
        return response.status, content

    def sign_in(self):
        status, page = self.request("GET", "/admin/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1].decode()
        form = urlencode({"csrfmiddlewaretoken": token, "username": STAFF, "password": STAFF_PASSWORD, "next": "/admin/"})
        status, _ = self.request("POST", "/admin/login/", body=form)
        assert status == 302, status
