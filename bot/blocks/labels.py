"""Words the bot uses for stored values."""

from models import Blocker, Importance, RequestStatus

STATUS = {
    RequestStatus.NEW: "New",
    RequestStatus.UNDER_REVIEW: "Under review",
    RequestStatus.PLANNED: "Planned",
    RequestStatus.DECLINED: "Declined",
    RequestStatus.NEEDS_INFO: "Needs more info",
    RequestStatus.ALREADY_EXISTS: "Already exists",
    RequestStatus.MERGED: "Merged",
}

BLOCKER = {
    Blocker.DEAL_BLOCKER: "Yes, it blocks a deal",
    Blocker.CHURN_RISK: "Yes, churn risk",
    Blocker.NONE: "No",
    Blocker.UNKNOWN: "Not sure",
}

IMPORTANCE = {
    Importance.NICE_TO_HAVE: "Nice to have",
    Importance.IMPORTANT: "Important",
    Importance.MUST_HAVE: "Must have",
    Importance.DEAL_BLOCKER: "Deal blocker",
}

PERIOD = {"arr": " ARR", "mrr": " MRR", "one_time": " one-time"}


def status(value: str) -> str:
    return STATUS.get(value, value.replace("_", " ").capitalize())
