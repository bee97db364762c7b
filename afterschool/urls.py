"""Web pages of afterschool: those of its three packages, and the school admin's scheduling pages, in one list."""

from afterschool.admission.urls import urlpatterns as admission_urlpatterns
from afterschool.family.urls import urlpatterns as family_urlpatterns
from afterschool.fees.urls import urlpatterns as fees_urlpatterns
from afterschool.schedule.urls import urlpatterns as schedule_urlpatterns
from afterschool.school.urls import urlpatterns as school_urlpatterns

urlpatterns = [
    *schedule_urlpatterns,
    *admission_urlpatterns,
    *fees_urlpatterns,
    *school_urlpatterns,
    *family_urlpatterns,
]
