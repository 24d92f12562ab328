"""Accounts: the searchable, sortable list of accounts in the viewer's scope, with export."""

from components import account_list, shell
from data_access import cached

with shell.page("accounts") as ctx:
    accounts = cached.load_account_list(ctx.scope, ctx.filters, ctx.data_version)
    account_list.render_account_list(accounts, ctx)
