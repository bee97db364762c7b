"""Web pages of afterschool."""

urlpatterns = []
