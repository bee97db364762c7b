"""The public page of published inspection results (一公开): anyone may read it, internal items never appear."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import publication

PAGE_SIZE = 100


@require_GET
def inspection_results(request):
    rows = list(publication.published_results()[:PAGE_SIZE])
    return render(request, "supervision/inspection_results.html", {"results": publication.results_page(rows)})
