"""Home: the portfolio overview (an account manager sees their team's accounts only)."""

from components import overview_view, shell
from data_access import cached

with shell.page("home") as ctx:
    data = cached.load_overview(ctx.scope, ctx.filters, ctx.data_version)
    overview_view.render_overview(data, ctx)
