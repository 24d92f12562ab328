"""Model validation lab (executives and admins): did health and churn risk predict churn?"""

from components import models_view, shell
from data_access import cached

with shell.page("models") as ctx:
    models_view.render_models(cached.load_model_runs(ctx.data_version))
