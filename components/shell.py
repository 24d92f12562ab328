"""The one call at the top of every page: config, login guard, navigation, language, filters."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import streamlit as st

from analytics.periods import add_months, month_end
from components import cookies
from components.i18n import LANGUAGES, current_language, fmt_month, label, t
from data_access import cached
from data_access.auth import LoginThrottled, UserInfo
from data_access.config import ConfigError
from data_access.engine import DatabaseUnavailable
from data_access.scope import Filters, Scope

ALL_ROLES = ("executive", "account_manager", "admin")
SESSION_COOKIE = "strata_session"


@dataclass(frozen=True)
class PageSpec:
    """A page of the app: where it lives, its label and who may open it."""

    key: str
    path: str
    label_key: str
    icon: str
    roles: tuple[str, ...] = ALL_ROLES
    filters: bool = True


PAGES = (
    PageSpec("home", "app.py", "nav.home", ":material/dashboard:"),
    PageSpec("accounts", "pages/accounts.py", "nav.accounts", ":material/table_view:"),
    PageSpec("profile", "pages/profile.py", "nav.profile", ":material/person_search:"),
    PageSpec("lifecycle", "pages/lifecycle.py", "nav.lifecycle", ":material/timeline:"),
    PageSpec(
        "satisfaction",
        "pages/satisfaction.py",
        "nav.satisfaction",
        ":material/sentiment_satisfied:",
    ),
    PageSpec("growth", "pages/growth.py", "nav.growth", ":material/trending_up:"),
    PageSpec(
        "interventions",
        "pages/interventions.py",
        "nav.interventions",
        ":material/task_alt:",
        filters=False,
    ),
    PageSpec(
        "models",
        "pages/models.py",
        "nav.models",
        ":material/science:",
        ("executive", "admin"),
        filters=False,
    ),
    PageSpec(
        "settings",
        "pages/settings.py",
        "nav.settings",
        ":material/tune:",
        ("admin",),
        filters=False,
    ),
    PageSpec(
        "admin",
        "pages/admin.py",
        "nav.admin",
        ":material/database:",
        ("admin",),
        filters=False,
    ),
)


@dataclass(frozen=True)
class PageContext:
    """What a page needs to know about the viewer and the selection."""

    user: UserInfo
    scope: Scope
    filters: Filters
    data_version: int
    lang: str


def _spec(key: str) -> PageSpec:
    for spec in PAGES:
        if spec.key == key:
            return spec
    raise ValueError(f"unknown page {key!r}; known: {[p.key for p in PAGES]}")


def _init_language() -> None:
    if "lang" in st.session_state:
        return
    try:
        browser = (st.context.locale or "").lower()
    except Exception:  # noqa: BLE001 - no browser context (tests, scripts)
        browser = ""
    st.session_state["lang"] = "en" if browser.startswith("en") else "zh"


def _on_language_change(key: str) -> None:
    lang = st.session_state[key]
    st.session_state["lang"] = lang
    user = st.session_state.get("user")
    if user is not None:
        with contextlib.suppress(DatabaseUnavailable):
            cached.save_locale(user.id, lang)


def _render_language_picker(where: st.delta_generator.DeltaGenerator, key: str) -> None:
    langs = list(LANGUAGES)
    # Keyed widgets keep their browser-side value across reruns, so the login page
    # and the sidebar each have their own key, and the value is re-seeded from "lang".
    st.session_state[key] = current_language()
    where.radio(
        t("shell.language"),
        langs,
        format_func=LANGUAGES.__getitem__,
        horizontal=True,
        key=key,
        on_change=_on_language_change,
        args=(key,),
    )


def _start_session(user: UserInfo, session_id: str, cookie: str | None, max_age: int) -> None:
    st.session_state["user"] = user
    st.session_state["session_id"] = session_id
    st.session_state["lang"] = user.locale if user.locale in LANGUAGES else current_language()
    st.session_state.pop("logged_out", None)
    if cookie:
        st.session_state["cookie"] = (cookie, max_age)


def _browser_cookie() -> str | None:
    try:
        return st.context.cookies.get(SESSION_COOKIE)
    except Exception:  # noqa: BLE001 - no browser context (tests, scripts)
        return None


def _current_user(degraded: bool = False) -> UserInfo | None:
    user = st.session_state.get("user")
    if user is not None:
        # During an outage the revocation check cannot run; the signed-in tab keeps what
        # it has loaded (nothing new can be read or written until the database is back).
        if degraded or cached.session_is_live(st.session_state["session_id"]):
            return user
        _end_session()
        return None
    if st.session_state.get("logged_out"):
        return None
    found = cached.user_from_cookie(_browser_cookie())
    if found is None:
        return _sso_user()
    _start_session(found[0], found[1], None, 0)
    return found[0]


def _end_session() -> None:
    for key in ("user", "session_id", "cookie"):
        st.session_state.pop(key, None)
    st.session_state["logged_out"] = True


def _submit_login() -> None:
    username = st.session_state.get("_w_username", "").strip()
    password = st.session_state.get("_w_password", "")
    if not username or not password:
        st.session_state["login_error"] = "login.missing"
        return
    try:
        result = cached.login(username, password)
    except LoginThrottled as exc:
        st.session_state["login_error"] = ("login.throttled", {"seconds": exc.wait_seconds})
        return
    if result is None:
        st.session_state["login_error"] = "login.failed"
        return
    user, cookie, max_age = result
    st.session_state.pop("login_error", None)
    _start_session(user, cookie.split(".")[0], cookie, max_age)


def sso_configured() -> bool:
    """Whether single sign-on is set up (an ``[auth]`` section in the secrets)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: local sign-in only
        return False


def _sso_identity() -> dict | None:
    """The identity st.login established in this browser, if any."""
    if not sso_configured():
        return None
    try:
        return dict(st.user) if st.user.is_logged_in else None
    except Exception:  # noqa: BLE001 - no browser context (tests, scripts)
        return None


def _sso_user() -> UserInfo | None:
    """Sign in with the single sign-on identity; an unknown identity gets no access."""
    claims = _sso_identity()
    if claims is None:
        return None
    result = cached.sso_login(claims)
    if result is None:
        st.session_state["login_error"] = ("login.sso_unknown", {"email": claims.get("email", "?")})
        return None
    user, cookie, max_age = result
    st.session_state.pop("login_error", None)
    _start_session(user, cookie.split(".")[0], cookie, max_age)
    return user


def _render_login(version: int) -> None:
    if st.session_state.get("logged_out"):
        cookies.clear(SESSION_COOKIE)
    _, mid, _ = st.columns([1, 1.4, 1])
    with mid:
        st.title(t("app.name"))
        st.caption(t("app.tagline"))
        _render_language_picker(st, "_w_lang_login")
        with st.form("login", border=True):
            st.subheader(t("login.title"))
            st.text_input(t("login.username"), key="_w_username", autocomplete="username")
            st.text_input(
                t("login.password"),
                type="password",
                key="_w_password",
                autocomplete="current-password",
            )
            st.form_submit_button(t("login.submit"), type="primary", on_click=_submit_login)
        if sso_configured():
            if _sso_identity() is None:
                st.button(t("login.sso"), on_click=st.login, width="stretch")
            else:
                st.button(t("login.sso_other"), on_click=st.logout, width="stretch")
        error = st.session_state.get("login_error")
        if isinstance(error, tuple):
            st.error(t(error[0], **error[1]))
        elif error:
            st.error(t(error))
        if cached.is_demo(version):
            st.info(t("login.demo_users"))


def _render_nav(user: UserInfo) -> None:
    for spec in PAGES:
        if user.role in spec.roles:
            st.sidebar.page_link(spec.path, label=t(spec.label_key), icon=spec.icon)


def _persisted(name: str, default: object) -> object:
    return st.session_state.get(f"f_{name}", default)


def _keep(name: str) -> None:
    st.session_state[f"f_{name}"] = st.session_state[f"_w_{name}"]


def _reset_filters() -> None:
    for key in [k for k in st.session_state if str(k).startswith(("f_", "_w_f"))]:
        del st.session_state[key]


def _render_filters(user: UserInfo, options: dict[str, list]) -> Filters:
    bar = st.sidebar
    # Widgets' format functions may run outside this script run: bind the language now.
    lang = current_language()
    months = options["months"]
    # A period is a full 12 months; YoY figures need the 12 before it as well.
    periods = months[: max(1, len(months) - 11)] if months else [dt.date.today().replace(day=1)]
    period = _persisted("period", periods[0])
    if period not in periods:
        period = periods[0]
    bar.subheader(t("filter.title"))
    bar.selectbox(
        t("filter.period"),
        periods,
        index=periods.index(period),
        format_func=lambda m: t(
            "filter.period_value",
            lang=lang,
            start=fmt_month(add_months(m, -11), lang),
            end=fmt_month(m, lang),
        ),
        key="_w_period",
        on_change=_keep,
        args=("period",),
    )

    def multi(name: str, choices: list, fmt) -> tuple:
        chosen = [c for c in _persisted(name, []) if c in choices]
        bar.multiselect(
            t(f"filter.{name}"),
            choices,
            default=chosen,
            format_func=fmt,
            placeholder=t("filter.all"),
            key=f"_w_{name}",
            on_change=_keep,
            args=(name,),
        )
        return tuple(st.session_state.get(f"_w_{name}", chosen))

    regions = multi("regions", options["regions"], lambda c: label("region", c, lang))
    industries = multi("industries", options["industries"], lambda c: label("industry", c, lang))
    tiers = multi("tiers", options["tiers"], lambda c: label("tier", c, lang))
    teams: tuple = ()
    if user.role != "account_manager":
        names = {tm["id"]: tm["name_zh" if lang == "zh" else "name_en"] for tm in options["teams"]}
        teams = multi("teams", list(names), lambda i: names.get(i, str(i)))
    bar.button(t("filter.reset"), on_click=_reset_filters, width="stretch")
    selected = st.session_state.get("_w_period", period)
    return Filters(
        period_end=month_end(selected),
        regions=tuple(sorted(regions)),
        industries=tuple(sorted(industries)),
        tiers=tuple(sorted(tiers)),
        team_ids=tuple(sorted(teams)),
    )


def _logout() -> None:
    user = st.session_state.get("user")
    session_id = st.session_state.get("session_id")
    if user is not None and session_id:
        with contextlib.suppress(DatabaseUnavailable):
            cached.logout(session_id, user.id)
    _end_session()
    if _sso_identity() is not None:
        st.logout()  # also forget the provider's identity in this browser


def _render_user_box(user: UserInfo) -> None:
    bar = st.sidebar
    bar.divider()
    _render_language_picker(bar, "_w_lang")
    bar.caption(t("shell.signed_in_as", name=user.display_name, role=label("role", user.role)))
    bar.button(t("shell.logout"), on_click=_logout, key="logout", width="stretch")
    pending = st.session_state.pop("cookie", None)
    if pending:
        with bar:
            cookies.set(SESSION_COOKIE, pending[0], pending[1])


RETRY_SECONDS = 3


@st.fragment(run_every=dt.timedelta(seconds=RETRY_SECONDS))
def _wait_for_database() -> None:
    """Check the database every few seconds and reload the page once it answers again."""
    if cached.database_answers():
        st.rerun(scope="app")
    st.caption(t("shell.retrying", seconds=RETRY_SECONDS))


def _render_unavailable(message: str, poll: bool = True) -> None:
    st.error(t("shell.db_unavailable"))
    if poll:
        _wait_for_database()
    with st.expander(t("shell.details")):
        st.code(message, language=None)
    st.button(t("shell.retry"), type="primary")


def _data_version() -> tuple[int, bool]:
    """The data version, and whether the database is down and the last one is used.

    A signed-in tab keeps working from its caches through a short outage: pages it has
    loaded still show, saves report that nothing was saved, and input stays in the forms.
    """
    try:
        version = cached.data_version()
    except DatabaseUnavailable:
        last = st.session_state.get("_data_version")
        if last is None or st.session_state.get("user") is None:
            raise
        return last, True
    st.session_state["_data_version"] = version
    return version, False


@contextlib.contextmanager
def page(key: str) -> Iterator[PageContext]:
    """Guard a page and yield its context.

    Sets the page config, logs the viewer in (or shows the login form and stops),
    checks the role may open the page, draws the sidebar, and turns a database
    outage anywhere in the page body into a translated degraded state.
    """
    spec = _spec(key)
    _init_language()
    st.set_page_config(
        page_title=f"{t(spec.label_key)} · {t('app.name')}", page_icon="📊", layout="wide"
    )
    degraded = False
    try:
        version, degraded = _data_version()
        if degraded:
            # In the sidebar: the main area keeps its layout, so open forms stay open.
            with st.sidebar:
                st.warning(t("shell.db_degraded"))
                _wait_for_database()
        user = _current_user(degraded)
        if user is None:
            _render_login(version)
            st.stop()
        st.session_state["tier_names"] = cached.tier_names(version)
        st.sidebar.title(t("app.name"))
        _render_nav(user)
        if user.role not in spec.roles:
            st.error(t("shell.not_permitted"))
            st.stop()
        scope = Scope(
            user_id=user.id,
            role=user.role,
            team_id=user.team_id,
            session_id=st.session_state.get("session_id"),
        )
        if spec.filters:
            filters = _render_filters(user, cached.load_filter_options(scope, version))
        else:
            # Portfolio-wide pages: the latest full period, no dimension filters shown.
            months = cached.load_filter_options(scope, version)["months"]
            latest = months[0] if months else dt.date.today().replace(day=1)
            filters = Filters(period_end=month_end(latest))
        _render_user_box(user)
        yield PageContext(user, scope, filters, version, current_language())
    except (DatabaseUnavailable, ConfigError) as exc:
        _render_unavailable(str(exc), poll=not degraded)
        st.stop()
