"""Web pages of supervision."""

urlpatterns = []
