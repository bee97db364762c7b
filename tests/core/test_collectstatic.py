"""A deployment collects the static files into whitenoise's compressed manifest storage (DEBUG off): every file a
vendored script or stylesheet names (source maps, images) must be there, or collectstatic stops the deployment."""

from django.core.management import call_command
from django.test import override_settings


def test_collectstatic_succeeds_with_the_production_storage(tmp_path):
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("vendor/leaflet/leaflet.*.js")) and list(tmp_path.glob("vendor/echarts/echarts.min.*.js"))
