"""The address a request came from, believing ``X-Forwarded-For`` only from our own proxies.

``REMOTE_ADDR`` is the peer that opened the connection. Behind a load
balancer that is the balancer, and the client is in ``X-Forwarded-For``; but
anyone can send that header, so it is believed only when the peer is one of
``TRUSTED_PROXIES``. Each proxy appends the address it saw, so the client is
the right-most entry that is not itself a trusted proxy: entries further
left were written by the client and prove nothing.

Used for the sign-in lockout (``AXES_CLIENT_IP_CALLABLE``) and the sign-in
audit rows, so both name the same address.

A header from a peer that is not trusted is ignored, and said once per peer
in the log, naming ``TRUSTED_PROXIES``: behind a load balancer that nobody
listed, every client has the balancer's address, and one person's failed
sign-ins lock out every staff member.
"""

import ipaddress
import logging

from django.conf import settings

logger = logging.getLogger(__name__)
#: Peers already warned about, per process; bounded, since anyone can send the header.
_warned_peers = set()
WARNED_PEERS_LIMIT = 1000


def _address(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address, networks):
    return address is not None and any(address in network for network in networks)


def client_address(request):
    """The client's IP address as text, or None when the request has none."""
    peer = request.META.get("REMOTE_ADDR") or None
    networks = [ipaddress.ip_network(network) for network in settings.TRUSTED_PROXIES]
    if not _trusted(_address(peer), networks):
        if request.META.get("HTTP_X_FORWARDED_FOR"):
            _warn_untrusted(peer)
        return peer
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed([hop.strip() for hop in hops if hop.strip()]):
        address = _address(hop)
        if address is None:
            return peer  # a malformed entry: the client cannot be named, the proxy can
        if not _trusted(address, networks):
            return str(address)
    return peer


def _warn_untrusted(peer):
    if peer in _warned_peers or len(_warned_peers) >= WARNED_PEERS_LIMIT:
        return
    _warned_peers.add(peer)
    logger.warning(
        "X-Forwarded-For from %s ignored: that peer is not in TRUSTED_PROXIES. If it is your load balancer, add its "
        "address or network to TRUSTED_PROXIES; until then every client behind it shares its address and its "
        "sign-in lockout (docs/admin.md).", peer,
    )
