"""The afterschool API. Sub-routers of this area hang from `router` (router.add_router), so api.py names it once."""

from ninja import Router

from . import admission, afterschool_attendance, afterschool_enrolment, afterschool_schools

router = Router(tags=["afterschool 课后服务"])
router.add_router("/afterschool", afterschool_schools.router)
router.add_router("/afterschool", afterschool_enrolment.router)
router.add_router("/afterschool", afterschool_attendance.router)
router.add_router("/afterschool", admission.router)
