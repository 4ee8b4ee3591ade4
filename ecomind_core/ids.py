"""Application-made text ids with the legacy prefixes (``org_1a2b3c4d5e6f``).

Organisations and users keep the legacy 12 hex digits. Events and audit rows
number in the hundreds of millions, where 48 random bits would collide, so
they get 24. (Events written by the enrichment worker use plain
``gen_random_uuid()::text`` ids; both shapes coexist in ``events_enriched``.)
"""

import secrets

PREFIX_HEX_DIGITS = {"org": 12, "user": 12, "evt": 24, "audit": 24}


def new_id(prefix):
    return f"{prefix}_{secrets.token_hex(PREFIX_HEX_DIGITS[prefix] // 2)}"
