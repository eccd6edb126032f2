from __future__ import annotations

import pytest

from citybrain.actions import AuthNotChecked, Context, action
from citybrain.auth.actor import SYSTEM


def test_an_action_that_skips_authorization_cannot_return(run) -> None:
    @action("test_forgetful_action")
    def forgetful(ctx: Context) -> str:
        return "data"

    try:
        with pytest.raises(AuthNotChecked):
            run(forgetful, actor=SYSTEM)
    finally:
        from citybrain.actions import ACTIONS

        ACTIONS.pop("test_forgetful_action")
