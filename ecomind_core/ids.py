"""Application-made text ids with the legacy prefixes (``org_1a2b3c4d5e6f``).

Each model's ``TextIdField`` says its prefix and length. (Events written by
the enrichment worker use plain ``gen_random_uuid()::text`` ids; both shapes
coexist in ``events_enriched``.)
"""

import secrets


def new_id(prefix, hex_digits=12):
    return f"{prefix}_{secrets.token_hex(hex_digits // 2)}"
