from ninja import Router

router = Router(tags=["institutions 培训机构"])
