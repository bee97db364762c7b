from ninja import Schema


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    """The one error shape: {"error": {"code": "auth.invalid_token", "message": "…", "fields": {}}}."""

    error: ErrorBody
