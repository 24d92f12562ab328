"""Data & users (admins): imports, user administration and the audit log."""

from components import admin_view, shell

with shell.page("admin") as ctx:
    admin_view.render_admin(ctx)
