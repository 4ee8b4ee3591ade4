from functools import lru_cache

from django.db import DatabaseError
from django.db.backends.postgresql import base
from psycopg import sql
from psycopg.adapt import AdaptersMap
from psycopg.types.string import TextLoader

from ecomind_core.db import credentials

from .schema import DatabaseSchemaEditor


@lru_cache
def _with_json_as_text(context):
    # psycopg decodes ``json`` columns itself; Django's JSONField expects text
    # (Django registers the same loader for ``jsonb``), so decode once, there.
    adapters = AdaptersMap(context)
    adapters.register_loader("json", TextLoader)
    return adapters


class SchemaMissing(DatabaseError):
    """The configured schema does not exist in the database."""


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor

    @property
    def schema_name(self):
        """The one schema every command works on (``DATABASE_SCHEMA``, default ``public``)."""
        return self.settings_dict.get("SCHEMA") or "public"

    def check_schema_exists(self):
        """Raise SchemaMissing (a DatabaseError: commands say it in one line) unless the schema exists."""
        with self.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", [self.schema_name])
            if not cursor.fetchone()[0]:
                raise SchemaMissing(
                    f"schema {self.schema_name!r} does not exist in this database (DATABASE_SCHEMA): create it, "
                    "or set DATABASE_SCHEMA to the schema that holds EcoMind's tables"
                )

    def get_connection_params(self):
        # The credentials as they are now: a rotated password file is read
        # again for each new connection, not once per process (credentials.py).
        credentials.refresh(self.settings_dict)
        params = super().get_connection_params()
        params["context"] = _with_json_as_text(params["context"])
        return params

    def get_new_connection(self, conn_params):
        tried = []
        while True:
            try:
                connection = super().get_new_connection(conn_params)
                break
            except self.Database.OperationalError as exc:
                tried.append(credentials.credentials(conn_params))
                conn_params = self._after_authentication_failure(exc, conn_params, tried)
                if conn_params is None:
                    raise
        credentials.remember(self.alias, conn_params)
        return connection

    def _after_authentication_failure(self, exc, failed, tried):
        """The parameters to try next after the server refused to sign in, or None (credentials.py)."""
        if not credentials.is_authentication_failure(exc) or len(tried) > 2:
            return None
        credentials.refresh(self.settings_dict)  # rotated meanwhile? the files once more
        fresh = self.get_connection_params()
        if credentials.credentials(fresh) not in tried:
            return fresh  # the database was changed first, the file just now
        if len(tried) == 1:
            return credentials.last_good(self.alias, failed)  # the file first: the database still has the old password
        # Both refused: ALTER ROLE ran between the two attempts. The files' once more.
        return fresh if tried[-1] != credentials.credentials(fresh) else None

    def init_connection_state(self):
        # Whatever the role's search_path resolves to (a schema named after
        # the role, say), this project works on its one schema. SET rather
        # than a startup option, so that the path the role's sessions start
        # with stays readable (pg_settings.reset_val) for the catalog's
        # shadowing check.
        super().init_connection_state()
        with self.connection.cursor() as cursor:
            cursor.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema_name)))
            # psycopg reads dates and timestamps sent as text in ISO style only: a database or
            # role DateStyle of, say, German would make every read of one fail (verify_schema
            # reports such a setting: the worker's sessions keep it).
            cursor.execute("SET DateStyle TO ISO")
        if not self.get_autocommit():
            self.connection.commit()
