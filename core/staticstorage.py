"""Static files in production: whitenoise's compressed, hashed files, with each file's address worked out once per
process. The manifest does not change while a process runs, and every page names its style sheets and scripts
(`{% static %}` resolves the hashed name, cleans and joins it anew each time: a measurable part of a page's floor)."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force=True)
        url = self._urls.get(name)
        if url is None:
            url = self._urls[name] = super().url(name)
        return url
