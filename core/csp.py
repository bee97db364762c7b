"""Content-Security-Policy on every response (django-csp), with one relaxation scoped to the API's docs page.

The policy itself is settings.CONTENT_SECURITY_POLICY: nothing from another origin, no inline script or style, no
event-handler attributes, no framing. Swagger UI (served locally at /api/v1/docs) sets inline styles as it renders,
so that path alone also allows inline styles (settings.CSP_RELAXED_PATHS). Uploaded files set their own, stricter
sandbox policy (core.http.uploaded_file_response), which this middleware leaves as it is.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings


class ScopedCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        for prefix, replace in getattr(settings, "CSP_RELAXED_PATHS", {}).items():
            if request.path == prefix or request.path.startswith(prefix.rstrip("/") + "/"):
                parts.replace = {**replace, **(parts.replace or {})}
                break
        return parts
