"""Home-page fixtures: a clock standing on Wednesday 2026-11-25, 17:00 in Chongqing (inside the autumn term, after the
day's 16:00 sessions started), and helpers that read a home page's cards."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.conftest import client_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=SHANGHAI)  # a Wednesday
TODAY = NOW.date()


@pytest.fixture
def wednesday_afternoon():
    """The home tests' clock (used by their modules' pytestmark, so the folder's other tests keep the real one)."""
    with time_machine.travel(NOW, tick=False):
        yield


CARD = re.compile(r'data-testid="count-([\w-]+)">([^<]*)<')
SECTION = re.compile(r'data-testid="section-([\w]+)"')


def home(user) -> tuple[dict[str, list[str]], dict[str, str]]:
    """({section role: [card keys]}, {card key: count as shown}) of the user's home page."""
    response = client_for(user).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    sections: dict[str, list[str]] = {}
    for i, match in enumerate(SECTION.finditer(html)):
        end = list(SECTION.finditer(html))[i + 1].start() if i + 1 < len(SECTION.findall(html)) else len(html)
        sections[match.group(1)] = [m.group(1) for m in CARD.finditer(html[match.start() : end])]
    return sections, {m.group(1): m.group(2).strip() for m in CARD.finditer(html)}


def counts(user) -> dict[str, str]:
    return home(user)[1]
