"""Text search that an index can answer on PostgreSQL (institutions.search.text_condition).

Names are short Chinese strings: "美术" (2 characters) has no trigram, so pg_trgm cannot serve it. Instead the index
holds every 2-character substring of the lower-cased name and of its pinyin initials; a query of 2 or more characters
asks for rows holding all its bigrams (a GIN intersection), then rechecks the substring. SQLite keeps the plain
LIKE scan: the embedded default serves a demo, not 20,000 institutions.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION institutions_bigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(value, i, 2)), '{}')
    FROM generate_series(1, char_length(value) - 1) AS i
$$
"""
INDEX = """
CREATE INDEX IF NOT EXISTS institution_search_bigrams ON institutions_institution
USING gin (institutions_bigrams(lower(name) || ' ' || name_initials))
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        schema_editor.execute(INDEX)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS institution_search_bigrams")
        schema_editor.execute("DROP FUNCTION IF EXISTS institutions_bigrams(text)")


class Migration(migrations.Migration):
    dependencies = [("institutions", "0003_whitelist_index")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
