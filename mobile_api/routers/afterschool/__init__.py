"""The afterschool API, one module per package of the app: schedule_* (schools, enrolment, attendance), admission,
fees. Sub-routers of the area hang from `router` (router.add_router), so api.py names it once; fees hangs at /fees.

Operation ids are part of the published API: they were made from the module paths these routers had before they were
gathered here, and OPERATION_ID_MODULES keeps them (api.py asks it)."""

from ninja import Router

from . import admission, family, fees, schedule_attendance, schedule_enrolment, schedule_schools

OPERATION_ID_MODULES = {
    f"{__name__}.schedule_schools": "mobile_api.routers.afterschool_schools",
    f"{__name__}.schedule_enrolment": "mobile_api.routers.afterschool_enrolment",
    f"{__name__}.schedule_attendance": "mobile_api.routers.afterschool_attendance",
    f"{__name__}.admission": "mobile_api.routers.admission",
    f"{__name__}.fees": "mobile_api.routers.fees",
}

router = Router(tags=["afterschool 课后服务"])
router.add_router("/afterschool", schedule_schools.router)
router.add_router("/afterschool", schedule_enrolment.router)
router.add_router("/afterschool", schedule_attendance.router)
router.add_router("/afterschool", admission.router)
router.add_router("/afterschool", family.router)  # parents linking children, the school confirming

fees_router = fees.router  # hangs at /fees (api.py)
