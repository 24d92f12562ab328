"""Growth (价值提升): whitespace, next best product, backtest, depth, offers and loyalty."""

from components import growth_view, shell

with shell.page("growth") as ctx:
    growth_view.render_page(ctx)
