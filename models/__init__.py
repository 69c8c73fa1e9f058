"""SQLAlchemy models: data only. Importing this package registers every table."""

from models import installation  # noqa: F401
from models.activity import Activity, SlackDelivery
from models.base import Base, utcnow
from models.decision import Decision, DecisionStatus
from models.demand import RequestDemand
from models.job import Job, JobInboxMark
from models.outbox import OutboxMessage
from models.reminder import DeliveryState, Reminder, ReminderKind
from models.request import (
    Blocker,
    Customer,
    Importance,
    RepRole,
    Request,
    RequestCustomer,
    RequestMatchKey,
    RequestRep,
    RequestSource,
    RequestStatus,
)

__all__ = [
    "Activity",
    "Base",
    "Blocker",
    "Customer",
    "Decision",
    "DecisionStatus",
    "DeliveryState",
    "Importance",
    "Job",
    "JobInboxMark",
    "OutboxMessage",
    "Reminder",
    "ReminderKind",
    "RepRole",
    "Request",
    "RequestCustomer",
    "RequestDemand",
    "RequestMatchKey",
    "RequestRep",
    "RequestSource",
    "RequestStatus",
    "SlackDelivery",
    "utcnow",
]
