"""The bureau console's planning pages (see console/apps.py)."""

urlpatterns: list = []
