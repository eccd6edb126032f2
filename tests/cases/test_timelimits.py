from __future__ import annotations

import pytest

from citybrain.cases.timelimits import TimeLimit, TimeLimitTable, TimeUnit, limit_for
from citybrain.errors import Invalid

MIN, WH, WD = TimeUnit.CALENDAR_MINUTES, TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS


@pytest.mark.parametrize(
    ("kind", "code", "area", "urgency", "stage", "expected"),
    [
        ("event", "06010", "A", "urgent", "dispatch", TimeLimit(10, MIN)),
        ("event", "06010", "C", "normal", "立案派遣", TimeLimit(30, MIN)),
        ("part", "01002", "B", "normal", "verify", TimeLimit(60, MIN)),
        ("part", "01002", "C", "normal", "核查", TimeLimit(120, MIN)),
        ("event", "01037", "A", "normal", "dispose", TimeLimit(1, WD)),
        ("event", "06029", "B", "urgent", "dispose", TimeLimit(120, MIN)),
        ("event", "01002", "A", "normal", "dispose", TimeLimit(120, MIN)),
        ("event", "06010", "A", "normal", "dispose", TimeLimit(1, WD)),
        ("event", "06011", "A", "normal", "dispose", TimeLimit(4, WD)),
        ("event", "06012", "C", "normal", "处置", TimeLimit(4, WH)),
        ("event", "06001", "A", "normal", "dispose", TimeLimit(15, WD)),
        ("hotline", None, "A", "normal", "受理", TimeLimit(0.5, WD)),
        # no rule for this code: the stage default
        ("event", "09005", "A", "normal", "dispose", TimeLimit(5, WD)),
        # 部件 01037 (路灯 the part) is not 事项 01037 (路灯异常)
        ("part", "01037", "A", "normal", "dispose", TimeLimit(5, WD)),
    ],
)
def test_shipped_defaults(
    kind: str, code: str | None, area: str, urgency: str, stage: str, expected: TimeLimit
) -> None:
    assert limit_for(kind, code, area, urgency, stage) == expected


PRECEDENCE = """
[[rule]]
stage = "dispose"
code = "06*"
value = 3
unit = "working_days"

[[rule]]
stage = "dispose"
code = "06010"
value = 1
unit = "working_days"

[[rule]]
stage = "dispose"
code = "06010"
area_class = "C"
value = 2
unit = "working_days"

[[rule]]
stage = "dispose"
kind = "event"
code = "06010"
value = 6
unit = "working_hours"

[[rule]]
stage = "dispose"
area_class = "C"
urgency = "urgent"
value = 4
unit = "working_hours"

[defaults]
dispatch = { value = 30, unit = "calendar_minutes" }
dispose = { value = 5, unit = "working_days" }
verify = { value = 60, unit = "calendar_minutes" }
accept = { value = 0.5, unit = "working_days" }
"""


def test_most_specific_rule_wins() -> None:
    table = TimeLimitTable.from_toml(PRECEDENCE)
    # exact code + exact kind beats exact code + exact area (kind is compared before area)
    assert table.limit_for("event", "06010", "C", "normal", "dispose") == TimeLimit(6, WH)
    # for a part, the event-only rule does not apply: exact code + area wins
    assert table.limit_for("part", "06010", "C", "normal", "dispose") == TimeLimit(2, WD)
    assert table.limit_for("part", "06010", "A", "normal", "dispose") == TimeLimit(1, WD)
    # a 大类 wildcard beats a rule that only names area and urgency
    assert table.limit_for("event", "06099", "C", "urgent", "dispose") == TimeLimit(3, WD)
    assert table.limit_for("event", "07001", "C", "urgent", "dispose") == TimeLimit(4, WH)
    assert table.limit_for("event", "07001", "A", "normal", "dispose") == TimeLimit(5, WD)
    rule = table.rule_for("part", "06010", "C", "normal", "dispose")
    assert rule is not None and (rule.code, rule.area_class) == ("06010", "C")


def test_unknown_stage_and_bad_keys_are_invalid() -> None:
    with pytest.raises(Invalid, match="环节"):
        limit_for("event", "06010", "A", "normal", "closing")
    with pytest.raises(Invalid, match="区域类别"):
        limit_for("event", "06010", "D", "normal", "dispose")
    with pytest.raises(Invalid, match="紧急程度"):
        limit_for("event", "06010", "A", "soon", "dispose")
    with pytest.raises(Invalid, match="类型"):
        limit_for("vehicle", "06010", "A", "normal", "dispose")


def test_bad_tables_are_refused_with_the_rule_named() -> None:
    duplicate = PRECEDENCE + '\n[[rule]]\nstage = "dispose"\ncode = "06*"\nvalue = 9\nunit = "working_days"\n'
    with pytest.raises(Invalid, match="第 6 条规则与第 1 条"):
        TimeLimitTable.from_toml(duplicate)
    bad_unit = '[[rule]]\nstage = "dispose"\nvalue = 1\nunit = "fortnights"\n'
    with pytest.raises(Invalid, match=r"第 1 条规则.*时限单位"):
        TimeLimitTable.from_toml(bad_unit)
    with pytest.raises(Invalid, match="缺少环节"):
        TimeLimitTable.from_toml('[defaults]\ndispose = { value = 5, unit = "working_days" }\n')
    with pytest.raises(Invalid, match="代码无效"):
        TimeLimitTable.from_toml('[[rule]]\nstage = "dispose"\ncode = "6010"\nvalue = 1\nunit = "working_days"\n')
