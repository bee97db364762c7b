from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AfterschoolConfig(AppConfig):
    name = "afterschool"
    verbose_name = _("课后服务")

    def ready(self):
        from django.db.models.signals import pre_delete, pre_save

        from accounts import places
        from afterschool.schedule.models import School, Session, Staff
        from afterschool.schedule.selectors import school_names, school_names_in_towns

        # Memberships name a school by id (identity knows no domain): this app answers the names, and refuses to
        # delete a school a membership names, as the foreign key's PROTECT did.
        places.register(places.SCHOOL, school_names, in_towns=school_names_in_towns)
        pre_delete.connect(
            places.protect_memberships(places.SCHOOL), sender=School, weak=False, dispatch_uid="afterschool.school_held"
        )

        pre_save.connect(_session_staff_admitted, sender=Session, dispatch_uid="afterschool.session_staff_admitted")
        pre_save.connect(_staff_person_admitted, sender=Staff, dispatch_uid="afterschool.staff_person_admitted")

        from . import tasks  # noqa: F401 - registers the tasks in every process: services send them by name
        from .admission import enforcement
        from .schedule import staffing

        staffing.register(enforcement)  # the schedule asks admission through this port, never importing it
        from .fees.services import refund_on_withdrawal_signalled
        from .schedule.signals import application_withdrawn

        # The schedule does not know fees: a withdrawal is refunded (R-ASS-3) through this receiver.
        application_withdrawn.connect(refund_on_withdrawal_signalled, dispatch_uid="afterschool.refund_on_withdrawal")


def _session_staff_admitted(sender, instance, raw=False, **kwargs):
    """Whatever saves a session (a service, the admin, an import, a shell), an outside person on it must hold an
    admission valid on the days taught (R-ASS-2). Services that create sessions in bulk check the same function."""
    if instance.staff_id is None:
        return
    from afterschool.admission.enforcement import check_outside_staff
    from afterschool.schedule.models import Staff

    # By id, not instance.staff: a fixture being loaded (raw) is checked too, against the rows loaded so far.
    staff = instance._state.fields_cache.get("staff") or Staff.objects.filter(pk=instance.staff_id).first()
    if staff is not None:
        check_outside_staff(staff, instance.first_date, instance.last_date)


def _staff_person_admitted(sender, instance, raw=False, **kwargs):
    """Changing who a staff row is (the admin, an import) re-checks the person against its future sessions."""
    from afterschool.admission.enforcement import staff_recheck

    staff_recheck(instance)
