from ninja import Schema

# Ids are 64-bit integers: a larger number cannot name anything (and SQLite cannot even bind it).
MAX_ID = 2**63 - 1


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    """The one error shape: {"error": {"code": "auth.invalid_token", "message": "…", "fields": {}}}."""

    error: ErrorBody
