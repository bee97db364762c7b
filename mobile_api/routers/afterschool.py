"""The afterschool API. Sub-routers of this area hang from `router` (router.add_router), so api.py names it once."""

from ninja import Router

router = Router(tags=["afterschool 课后服务"])
