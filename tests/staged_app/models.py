from django.db import models


class Widget(models.Model):
    """The state after 0002, which dropped ``note`` (post-deploy)."""
