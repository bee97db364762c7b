"""The bureau console's pages, one module per part (each module lists its own urlpatterns)."""

from . import dashboard, institution, planning, registry

urlpatterns = [*registry.urlpatterns, *institution.urlpatterns, *planning.urlpatterns, *dashboard.urlpatterns]
