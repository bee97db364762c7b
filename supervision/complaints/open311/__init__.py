"""Open311 GeoReport v2 at /open311/v2/: civic-reporting clients file and follow complaints (issue 17)."""
