"""One message size limit (issue 12, 9): [smtp] max_message_size bounds SMTP and IMAP APPEND;
the old [imap] max_literal is refused with a hint that says where the limit went."""

from __future__ import annotations

import pytest

from swissbox.conf.loader import ConfigError, settings_from_dict


def test_old_imap_max_literal_names_its_replacement() -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"imap": {"max_literal": 1_000_000}})
    (problem,) = err.value.problems
    assert problem.startswith("imap.max_literal: unknown key")
    assert "smtp.max_message_size" in problem


def test_one_setting_bounds_both() -> None:
    s = settings_from_dict({"smtp": {"max_message_size": 5_000_000}})
    assert s.smtp.max_message_size == 5_000_000
    assert not hasattr(s.imap, "max_literal")
