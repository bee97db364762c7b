"""The bureau console's registry pages (see console/apps.py)."""

urlpatterns: list = []
