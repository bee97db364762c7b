from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import memberships_of


@login_required
def home(request):
    return render(request, "accounts/home.html", {"memberships": memberships_of(request.user)})
