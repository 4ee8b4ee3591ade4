"""Authenticator-app codes (RFC 6238), computed here independently of django-otp.

What an app would show for an ``otpauth://`` URI: if the admin accepts these,
it accepts the apps'.
"""

import base64
import hashlib
import hmac
import struct
import time
from urllib.parse import parse_qs, urlsplit


def secret(otpauth_uri):
    return parse_qs(urlsplit(otpauth_uri).query)["secret"][0]


def code(otpauth_uri, step=30, digits=6):
    key = secret(otpauth_uri)
    key = base64.b32decode(key + "=" * (-len(key) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time() // step)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)
