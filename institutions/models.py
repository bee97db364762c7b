from django.db import models


class Institution(models.Model):
    """An off-campus training institution. The foundation keeps only what memberships and scoping need;
    the registry (licences, staff, courses, status) grows it."""

    name = models.CharField("名称", max_length=200)
    town = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="institutions", verbose_name="所在镇街"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "培训机构 institution"
        verbose_name_plural = "培训机构 institutions"
        ordering = ["name"]

    def __str__(self):
        return self.name
