"""The models of afterschool live in its three packages (schedule, admission, fees); Django looks for an app's models
in its `models` module, so they are imported here. The app label and every table stay `afterschool`."""

from afterschool.admission.models import (  # noqa: F401
    ADMISSION_OPEN,
    Admission,
    AdmissionDocument,
    AdmissionReason,
    OutsidePerson,
    ProhibitedPerson,
)
from afterschool.family.models import ChildLinkRequest  # noqa: F401
from afterschool.fees.models import (  # noqa: F401
    AllocationLine,
    AllocationPlan,
    AllocationRun,
    Bill,
    Exemption,
    FeeBasis,
    FeeRate,
    OtherIncome,
    Payment,
    PayType,
    Refund,
    SchoolAccount,
    SessionNotHeld,
    Subsidy,
)
from afterschool.schedule.models import (  # noqa: F401
    FORBIDDEN_KINDS,
    GRADE_LABELS,
    STAGE_GRADES,
    WEEKDAY_LABELS,
    Application,
    Attendance,
    ChoiceWindow,
    Kind,
    Programme,
    Room,
    School,
    SchoolClass,
    Session,
    Staff,
    Stage,
    Student,
    Term,
    TermDay,
)
