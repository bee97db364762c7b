"""The bureau console's pages, one module per part (each module lists its own urlpatterns)."""

from . import calendar, dashboard, institution, planning, registry

urlpatterns = [*registry.urlpatterns, *institution.urlpatterns, *planning.urlpatterns, *dashboard.urlpatterns]
urlpatterns += calendar.urlpatterns  # calendar care (console/calendar.py)
