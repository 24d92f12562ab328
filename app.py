"""Home: the portfolio overview (an account manager sees their team's accounts only)."""

from components import interventions_view, overview_view, shell
from data_access import cached

with shell.page("home") as ctx:
    if ctx.user.role == "account_manager":
        interventions_view.render_my_alerts(ctx)
    data = cached.load_overview(ctx.scope, ctx.filters, ctx.data_version)
    overview_view.render_overview(data, ctx)
