"""Interventions: tracking, playbooks, rule-triggered alerts, and whether they worked."""

from components import interventions_view, shell

with shell.page("interventions") as ctx:
    interventions_view.render_page(ctx)
