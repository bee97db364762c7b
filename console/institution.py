"""The bureau console's institution pages (see console/apps.py)."""

urlpatterns: list = []
