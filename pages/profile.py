"""Account profile (客户画像): value, behaviour, needs, relationships, team and timeline."""

from components import intervention_forms, profile_forms, profile_view, shell
from data_access import cached

with shell.page("profile") as ctx:
    code = profile_view.account_from_url()
    if not code:
        accounts = cached.load_account_list(ctx.scope, ctx.filters, ctx.data_version)
        code = profile_view.render_account_picker(accounts)
    if code:
        data = cached.load_profile(ctx.scope, code, ctx.filters.period_end, ctx.data_version)
        if data is None:
            profile_view.render_not_found()
        else:
            profile_forms.render_flash()
            intervention_forms.render_flash()
            profile_view.render_profile(data, ctx)
