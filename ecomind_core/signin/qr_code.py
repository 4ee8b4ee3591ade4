"""The QR code an authenticator app scans, drawn on the server (segno) into the page itself.

A data URI in the page, not an image URL: a URL would put the key in the
server's and any proxy's access log, and the browser would cache it.
"""

import segno


def qr_code_data_uri(otpauth_uri):
    """An SVG ``data:`` URI of ``otpauth_uri`` as a QR code, black on white with the quiet zone apps need."""
    return segno.make(otpauth_uri, error="m", micro=False).svg_data_uri(scale=5, border=4, dark="#000", light="#fff")
