"""Settings: one table, read from PUBLISHER_* variables, with clear errors."""

import pickle
from dataclasses import replace

import pytest

from publisher.config import SETTINGS, SettingError, Settings, load_settings


def test_the_table_is_derived_from_the_declarations():
    """A setting is declared once, as a field of Settings; the table follows."""
    port = next(s for s in SETTINGS if s.name == "PORT")
    assert (port.kind, port.default, port.minimum, port.maximum) == (int, 8000, 1, 65535)
    assert Settings() == load_settings(environ={})


def test_defaults_are_safe():
    settings = load_settings(environ={})
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.admin_token == ""  # the admin endpoint is off until a token is set
    assert settings.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("variable", "raw", "field", "value"),
    [
        ("PUBLISHER_FEED_MAX_ENTRIES", "20", "feed_max_entries", 20),
        ("PUBLISHER_WATCH", "0", "watch", False),
        ("PUBLISHER_WATCH", "yes", "watch", True),
        ("PUBLISHER_WATCH_SETTLE", "0.1", "watch_settle", 0.1),
        ("PUBLISHER_BASE_URL", "https://example.org/", "base_url", "https://example.org/"),
    ],
)
def test_environment_variables_are_read(variable, raw, field, value):
    assert getattr(load_settings(environ={variable: raw}), field) == value


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("PUBLISHER_FEED_MAX_ENTRIES", "many", "write a whole number, e.g. 100"),
        ("PUBLISHER_HUB_TIMEOUT", "soon", r"write a number, e.g. 10\.0"),
        ("PUBLISHER_PORT", "-1", "write a number from 1 to 65535"),
        ("PUBLISHER_WATCH", "maybe", "write 1 or 0"),
    ],
)
def test_a_bad_value_is_named_with_a_fix(variable, raw, message):
    with pytest.raises(SettingError, match=f"{variable}=.*{message}"):
        load_settings(environ={variable: raw})


def test_overrides_win_and_unknown_ones_are_refused():
    assert load_settings({"name": "X"}, environ={"PUBLISHER_NAME": "Y"}).name == "X"
    with pytest.raises(SettingError, match="Unknown setting"):
        load_settings({"colour": "red"}, environ={})


def test_base_has_no_trailing_slash():
    assert load_settings({"base_url": "https://example.org/"}, environ={}).base == (
        "https://example.org"
    )


def test_a_short_admin_token_is_refused_at_start():
    """A guessable token guards POST /admin/reload: refuse it, say how to make a good one,
    and never echo it."""
    with pytest.raises(SettingError) as refused:
        load_settings(environ={"PUBLISHER_ADMIN_TOKEN": "hunter2"})
    message = str(refused.value)
    assert "PUBLISHER_ADMIN_TOKEN" in message and "at least 16" in message
    assert 'python -c "import secrets; print(secrets.token_urlsafe(24))"' in message
    assert "hunter2" not in message
    assert load_settings(environ={"PUBLISHER_ADMIN_TOKEN": "x" * 16}).admin_token == "x" * 16


def test_markup_in_the_publisher_name_is_refused_at_start():
    """The name is the feeds' author and OPML owner: names in the data may not hold < or >
    (publisher check), and neither may this one."""
    with pytest.raises(SettingError, match="PUBLISHER_NAME must not contain < or >"):
        load_settings(environ={"PUBLISHER_NAME": "Groups <img src=x onerror=alert(1)>"})


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("PUBLISHER_HEADER_TIMEOUT", "inf"),
        ("PUBLISHER_HEADER_TIMEOUT", "0.0001"),
        ("PUBLISHER_BACKLOG", "99999999999"),
        ("PUBLISHER_HUB_MAX_PENDING", "0"),
        ("PUBLISHER_HUB_TIMEOUT", "nan"),
    ],
)
def test_a_number_out_of_range_is_refused_at_start_not_in_a_traceback(variable, raw):
    """inf and a huge backlog crashed publisher serve with OverflowError; a header timeout
    of 0.0001 s dropped every request whose headers came in two packets; a pending cap of 0
    refused every subscriber."""
    with pytest.raises(SettingError, match=f"{variable}=.*write a number from"):
        load_settings(environ={variable: raw})


@pytest.mark.parametrize("token", ["abcdefghijklmnopq ", " " * 16, "abcdefgh\nijklmnopq"])
def test_an_admin_token_with_spaces_is_refused_at_start(token):
    """A token ending in a space was accepted, and could never match the header (read
    without the spaces around it): a 401 for ever, with no hint why."""
    with pytest.raises(SettingError, match="must not contain spaces"):
        load_settings(environ={"PUBLISHER_ADMIN_TOKEN": token})


def test_a_whole_number_is_asked_for_where_a_fraction_cannot_be_used():
    """PUBLISHER_PORT=8000.5 was answered "write a number, e.g. 8000": it was one."""
    with pytest.raises(SettingError, match="PUBLISHER_PORT='8000.5': write a whole number"):
        load_settings(environ={"PUBLISHER_PORT": "8000.5"})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"watch": "0"}, "PUBLISHER_WATCH='0': write 1 or 0"),
        ({"port": "8000"}, "PUBLISHER_PORT='8000': write a whole number"),
        ({"feed_max_entries": True}, "PUBLISHER_FEED_MAX_ENTRIES=True: write a whole number"),
        ({"hubs": None}, "PUBLISHER_HUBS=None: write text"),
    ],
)
def test_an_override_of_the_wrong_type_is_refused_naming_the_setting(override, message):
    """Overrides were taken as given: watch="0" switched the watcher on (a non-empty
    string is true), port="8000" failed later, far from its cause."""
    with pytest.raises(SettingError, match=message):
        load_settings(override, environ={})


def test_a_whole_number_may_stand_for_a_fraction():
    assert load_settings({"hub_timeout": 1}, environ={}).hub_timeout == 1.0
    assert isinstance(load_settings({"hub_timeout": 1}, environ={}).hub_timeout, float)


@pytest.mark.parametrize("value", ["groups.example.org", "ftp://example.org", "https://"])
def test_a_base_url_that_is_not_a_web_address_is_refused_at_start(value):
    """Every link in feeds, pages and calendars starts with BASE_URL: one without a scheme
    or host was accepted, and every published link was broken."""
    with pytest.raises(SettingError, match="PUBLISHER_BASE_URL=.*write the public web address"):
        load_settings(environ={"PUBLISHER_BASE_URL": value})


def test_settings_are_checked_however_they_are_made():
    """Only load_settings checked: a Settings made or changed otherwise could hold port 0."""
    with pytest.raises(SettingError, match="PUBLISHER_PORT=0: write a number from 1 to 65535"):
        replace(load_settings(environ={}), port=0)


def test_settings_survive_the_trip_to_a_spawned_worker():
    """publisher serve hands its settings to granian's worker, pickled where the worker is
    a new interpreter (granian's "spawn")."""
    settings = load_settings({"port": 8123, "base_url": "https://example.org"}, environ={})
    assert pickle.loads(pickle.dumps(settings)) == settings
