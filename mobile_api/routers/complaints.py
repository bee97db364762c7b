"""The complaints API. Sub-routers of this area hang from `router` (router.add_router), so api.py names it once."""

from ninja import Router

router = Router(tags=["complaints 投诉"])
