"""Lists: ?page=&page_size= (capped), answered as {"items": [...], "count": N}."""

from django.conf import settings
from ninja import Schema
from pydantic import Field


class PageParams(Schema):
    page: int = Field(1, ge=1, le=100_000, description="页码，从 1 开始 / page number, from 1")
    page_size: int = Field(20, ge=1, le=100, description="每页条数，最多 100 / items per page, at most 100")


def paginate(queryset, params: PageParams) -> dict:
    size = min(params.page_size, settings.API_PAGE_SIZE_MAX)
    start = (params.page - 1) * size
    return {"items": list(queryset[start : start + size]), "count": queryset.count()}
