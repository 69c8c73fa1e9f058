"""Every Slack id the bot owns (commands, callbacks, actions, blocks), named in the product's words."""

from enum import StrEnum


class Command(StrEnum):
    REQUEST = "/request"


class Callback(StrEnum):
    FILE_FEATURE_REQUEST = "file_feature_request"
    REQUEST_MODAL = "request_modal"
    EDIT_REQUEST_MODAL = "edit_request_modal"
    DECISION_MODAL = "decision_modal"
    DECISION_PREVIEW = "decision_preview"
    DECISION_HISTORY = "decision_history"
    FOLLOW_UP_MODAL = "follow_up_modal"
    MERGE_MODAL = "merge_modal"
    KEEP_DECISION_MODAL = "keep_decision_modal"
    ASSESS_MODAL = "assess_modal"
    DELETE_REQUEST_MODAL = "delete_request_modal"


class Action(StrEnum):
    DECIDE = "decide"
    EDIT_REQUEST = "edit_request"
    TALK_TO_CUSTOMER = "talk_to_customer"
    SHOW_HISTORY = "show_history"
    ANSWER_FOLLOW_UP = "answer_follow_up"
    BLOCKER_ANSWER = "blocker_answer"
    ADD_TO_EXISTING = "add_to_existing"
    NOT_A_DUPLICATE = "not_a_duplicate"
    MERGE = "merge"
    UNMERGE = "unmerge"
    ASSESS = "assess"
    KEEP_DECISION = "keep_decision"
    CHANGE_DECISION = "change_decision"
    SNOOZE_REMINDER = "snooze_reminder"
    STOP_REMINDERS = "stop_reminders"
    HOME_FILTER = "home_filter"
    HOME_PAGE = "home_page"
    HOME_CUSTOMER = "home_customer"
    TITLE_TYPED = "title_typed"
    DECISION_STATUS_CHOSEN = "decision_status_chosen"
    OPEN_DECISION_FROM_THREAD = "open_decision_from_thread"
    DELETE_REQUEST = "delete_request"


class Field(StrEnum):
    """Input blocks of the bot's modals; each input's action id is the same string."""

    TITLE = "title"
    PROBLEM = "problem"
    PROPOSED_SOLUTION = "proposed_solution"
    CUSTOMERS = "customers"
    CUSTOMER_COUNT = "customer_count"
    REVENUE = "revenue"
    BLOCKER = "blocker"
    IMPORTANCE = "importance"
    DEAL_CLOSE_ON = "deal_close_on"
    DEAL_AMOUNT = "deal_amount"
    RENEWAL_ON = "renewal_on"
    CRM_URL = "crm_url"
    DECISION_STATUS = "decision_status"
    RATIONALE = "rationale"
    TIMELINE = "timeline"
    REVISIT_ON = "revisit_on"
    WORKAROUND = "workaround"
    NEEDED_INFO = "needed_info"
    REOPEN_REVENUE = "reopen_revenue"
    REOPEN_ON_BLOCKER = "reopen_on_blocker"
    REPLY_TEXT = "reply_text"
    EFFORT = "effort"
    STRATEGIC_FIT = "strategic_fit"
    EFFORT_WEEKS = "effort_weeks"
    MERGE_TARGET = "merge_target"


DECIDER_ONLY_ACTIONS = frozenset({
    Action.DECIDE, Action.OPEN_DECISION_FROM_THREAD, Action.TALK_TO_CUSTOMER, Action.ASSESS,
    Action.KEEP_DECISION, Action.CHANGE_DECISION, Action.DELETE_REQUEST,
    Action.MERGE, Action.UNMERGE,
})
"""Buttons only deciders may use; anyone else's click (or a forged one) changes nothing."""

DECIDER_ONLY_VIEWS = frozenset({
    Callback.DECISION_MODAL, Callback.DECISION_PREVIEW, Callback.KEEP_DECISION_MODAL,
    Callback.ASSESS_MODAL, Callback.DELETE_REQUEST_MODAL, Callback.MERGE_MODAL,
})
"""Modals only deciders are shown; a submission from anyone else changes nothing."""
