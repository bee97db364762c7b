from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import memberships_of, with_places


@login_required
def home(request):
    # Where each role applies, named by the apps that own the places: one query per kind of place, not per role.
    return render(request, "accounts/home.html", {"memberships": with_places(memberships_of(request.user))})
