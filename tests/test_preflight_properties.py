"""Pre-flight on arbitrary and nasty input: never a traceback, never the password, always a documented exit code."""

from __future__ import annotations

import contextlib
import io
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.core import config
from scripts.core.errors import Failure
from scripts.database.preflight import run_preflight
from testing.database import SERVER

DOCUMENTED_EXIT_CODES = {10, 11, 12, 13, 14, 15, 16, 17, 18}  # docs/configuration.md
SCHEMES = ["postgresql", "postgres", "postgresql+psycopg2", "mysql", "http", "", "postgresql+asyncpg", "PostgreSQL"]
# Where connections go: only this machine (nothing else is reachable), names that do not resolve, and junk.
HOSTS = ["127.0.0.1", "localhost", "[::1]", "no-such-host.invalid", "", "127.0.0.1:", "@", "%zz"]
nasty_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("@:/?#%&=+ []\\'\"\n\t"),
    max_size=20,
)
# Never a piece of a message's own text ("database", "+psycopg2"): no message has '#' or '&',
# and every password has one, between nasty characters of all kinds.
passwords = st.builds(
    lambda head, mark, digit, tail: f"{head}{mark}{digit}{tail}",
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("@:/?#%&=+ "),
        min_size=5,
        max_size=20,
    ),
    st.sampled_from("#&"),
    st.sampled_from("0123456789"),
    st.text(alphabet=st.sampled_from("@:/?%=+abc"), max_size=4),
).filter(lambda p: p.strip() == p and len(set(p)) > 3)


@st.composite
def database_urls(draw) -> tuple[str, str]:
    """A URL and the password in it: structured, with each part possibly nasty."""
    password = draw(passwords)
    encoded = draw(st.sampled_from([quote(password, safe=""), password]))
    port = draw(st.one_of(st.integers(0, 70000).map(str), nasty_text, st.just(str(SERVER.port))))
    url = "{scheme}://{user}:{password}@{host}{colon}{port}/{db}{query}".format(
        scheme=draw(st.sampled_from(SCHEMES)),
        user=draw(st.one_of(st.just("postgres"), nasty_text)),
        password=encoded,
        host=draw(st.sampled_from(HOSTS)),
        colon=draw(st.sampled_from([":", ""])),
        port=port,
        db=draw(st.one_of(st.just("postgres"), nasty_text)),
        query=draw(st.one_of(st.just(""), nasty_text.map(lambda q: "?" + q))),
    )
    return url, password


def preflight_output(environ: dict[str, str]) -> tuple[int, str]:
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            run_preflight(config.settings(environ))
            code = 0
        except Failure as failure:
            print(failure.message, failure.hint)
            code = failure.exit_code
    return code, output.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url_and_password=database_urls(), wait=st.sampled_from(["", "0", "abc", "-1", "nan", "inf", "0.1"]))
def test_structured_urls_never_leak_the_password_or_raise(url_and_password: tuple[str, str], wait: str) -> None:
    url, password = url_and_password
    environ = {"ENV_FILE": "/dev/null", "DATABASE_URL": url, "DB_WAIT_SECONDS": wait, "DB_CONNECT_TIMEOUT": "1"}

    code, output = preflight_output(environ)

    assert code in DOCUMENTED_EXIT_CODES | {0}, output
    assert password not in output
    assert quote(password, safe="") not in output


@settings(max_examples=300, deadline=None)
@given(raw=nasty_text, env_file=st.sampled_from(["/dev/null", "no-such-file.env"]))
def test_arbitrary_strings_and_env_states_give_a_documented_exit_code(raw: str, env_file: str) -> None:
    code, output = preflight_output({"ENV_FILE": env_file, "DATABASE_URL": raw, "DB_CONNECT_TIMEOUT": "1"})

    assert code in DOCUMENTED_EXIT_CODES, output
    assert "Traceback" not in output
