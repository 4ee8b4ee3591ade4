"""The project's settings with a second database alias, ``other`` (ECOMIND_OTHER_DATABASE_URL).

For proving that a command given ``--database other`` works on that one only.
"""

import os

from ecomind.config import database_from_url
from ecomind.settings import *  # noqa: F403

DATABASES["other"] = database_from_url(os.environ["ECOMIND_OTHER_DATABASE_URL"])  # noqa: F405
