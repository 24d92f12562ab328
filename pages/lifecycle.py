"""Lifecycle & retention: stages, transitions, time in stage, retention curves, drivers, risk."""

from components import lifecycle_view, shell
from data_access import cached

with shell.page("lifecycle") as ctx:
    data = cached.load_lifecycle(ctx.scope, ctx.filters, ctx.data_version)
    lifecycle_view.render_lifecycle(data, ctx)
