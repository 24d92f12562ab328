"""Settings (admins): tier definitions and thresholds, versioned; recompute and apply tiers."""

from components import settings_view, shell
from data_access import cached

with shell.page("settings") as ctx:
    settings_view.render_settings(cached.load_tiering(ctx.data_version), ctx)
