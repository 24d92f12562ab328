"""Set and clear the login cookie from the browser (Streamlit can only read cookies)."""

from __future__ import annotations

import streamlit as st

_JS = """
export default function (component) {
  const { data } = component;
  if (!data || !data.name) { return; }
  const base = `${data.name}=`;
  const attrs = "; path=/; SameSite=Strict" + (location.protocol === "https:" ? "; Secure" : "");
  if (data.action === "set") {
    document.cookie = base + data.value + `; max-age=${data.maxAge}` + attrs;
  } else {
    document.cookie = base + "; max-age=0" + attrs;
  }
}
"""

_mount = st.components.v2.component("strata_cookie", js=_JS)


def set(name: str, value: str, max_age: int) -> None:  # noqa: A001 - reads as cookies.set
    """Store a cookie for the whole app for ``max_age`` seconds."""
    _mount(
        data={"action": "set", "name": name, "value": value, "maxAge": max_age},
        key=f"cookie-set-{name}",
        height=0,
    )


def clear(name: str) -> None:
    """Delete a cookie."""
    _mount(data={"action": "clear", "name": name}, key=f"cookie-clear-{name}", height=0)
