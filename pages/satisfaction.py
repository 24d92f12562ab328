"""Satisfaction: NPS, CSAT and CES trends with intervals, drops, comments and the closed loop."""

from components import satisfaction_view, shell

with shell.page("satisfaction") as ctx:
    satisfaction_view.render_page(ctx)
