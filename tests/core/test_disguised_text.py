"""Names with bidirectional controls or invisible characters are refused, in one place (core.text): the API's JSON
parser for every body (the multipart complaint's payload too), and the registry service for names from files."""

import pytest

from accounts.models import Role
from core.errors import DomainError
from core.text import check_name, disguise_in, refuse_disguised
from tests.conftest import TOWN_A, assert_error, make_user, region
from tests.institutions.test_import_export import as_csv, row, upload
from tests.institutions.test_registry_api import registration

RLO = "\u202e"  # right-to-left override: "培训学校\u202egpj.exe" shows as "培训学校exe.jpg"
DISGUISES = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("char", DISGUISES)
def test_bidirectional_controls_are_found_in_any_text(char):
    assert disguise_in(f"涪陵{char}培训", name=False) == char
    with pytest.raises(DomainError) as refused:
        refuse_disguised({"description": f"退费{char}问题"})
    assert refused.value.code == "text.invisible_control" and refused.value.status == 422
    assert "description" in refused.value.fields and f"U+{ord(char):04X}" in refused.value.message_en


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_zero_width_characters_are_refused_in_names_but_not_in_free_text(char):
    with pytest.raises(DomainError):
        check_name(f"新东{char}方")
    with pytest.raises(DomainError) as refused:
        refuse_disguised({"staff": [{"full_name": f"王{char}老师"}]})
    assert set(refused.value.fields) == {"staff.0.full_name"}
    refuse_disguised({"description": f"一家人 👨{char}👩 去上课"})  # emoji sequences need the joiner


def test_plain_chinese_and_english_pass():
    assert check_name("涪陵区新东方培训学校 New Oriental") == "涪陵区新东方培训学校 New Oriental"
    refuse_disguised({"name": "张女士", "items": ["a", {"title": "标题"}], "n": 3})


@pytest.mark.django_db
def test_the_api_refuses_a_disguised_institution_name(api_as):
    staff = make_user("敦仁科员", Role.BUREAU_STAFF, region=region(TOWN_A))
    response = api_as(staff, lang="en").post("institutions", registration(name=f"涪陵区培训学校{RLO}gpj.exe"))
    error = assert_error(response, 422, "text.invisible_control")
    assert "U+202E" in error["message"] and "name" in error["fields"]


@pytest.mark.django_db
def test_the_api_refuses_a_disguised_person_name_at_registration(anon):
    response = anon.post("auth/register", {"phone": "13900000077", "name": "张\u200d女士", "code": "000000"})
    assert_error(response, 422, "text.invisible_control")


@pytest.mark.django_db
def test_an_imported_row_with_a_disguised_name_is_listed_and_nothing_is_written(bureau_staff, api_as):
    from institutions.models import Institution

    content = as_csv([row(1), row(2, 名称=f"涪陵区第2培训学校{RLO}")])
    response = upload(api_as(bureau_staff), content, "机构名录.csv")
    error = assert_error(response, 422)
    assert any(key.startswith("3.") for key in error["fields"]), error  # line 3 (the second row), its name
    assert not Institution.objects.exists()
