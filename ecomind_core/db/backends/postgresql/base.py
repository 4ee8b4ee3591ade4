from functools import lru_cache

from django.db.backends.postgresql import base
from psycopg.adapt import AdaptersMap
from psycopg.types.string import TextLoader

from .schema import DatabaseSchemaEditor


@lru_cache
def _with_json_as_text(context):
    # psycopg decodes ``json`` columns itself; Django's JSONField expects text
    # (Django registers the same loader for ``jsonb``), so decode once, there.
    adapters = AdaptersMap(context)
    adapters.register_loader("json", TextLoader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor

    def get_connection_params(self):
        params = super().get_connection_params()
        params["context"] = _with_json_as_text(params["context"])
        return params
