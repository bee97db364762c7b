"""The bureau console's dashboard pages (see console/apps.py)."""

urlpatterns: list = []
