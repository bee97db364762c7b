from django.db import models


class School(models.Model):
    """A primary or secondary school. The foundation keeps only what memberships and scoping need;
    after-school services (terms, programmes, rosters) grow it."""

    name = models.CharField("名称", max_length=200)
    town = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="schools", verbose_name="所在镇街"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "学校 school"
        verbose_name_plural = "学校 schools"
        ordering = ["name"]

    def __str__(self):
        return self.name
