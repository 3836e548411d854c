"""Ids of the thread messages (status message, final summary) and the CSV attachment."""

STATUS_BLOCK = "status"
SUMMARY_HEADLINE_BLOCK = "summary_headline"
SUMMARY_CSV_FILENAME = "immy-request-{id}.csv"  # .format(id=request.id)

SUMMARY_ACTIONS_BLOCK = "summary_actions"  # Retry failed + the "Show log of…" select
RETRY_ACTION = "summary_retry"  # button value = summary_value(request_id, summary_id)
SHOW_LOG_ACTION = "summary_show_log"  # per failed computer's line: value = log_value(request_id, session_id)
SHOW_LOG_PICK_ACTION = "summary_show_log_pick"  # static_select for failed computers not listed inline
LOG_FILENAME = "immy-request-{id}-session-{session}.log"  # .format(id=..., session=...)


def summary_value(request_id: int, summary_id: str) -> str:
    return f"{request_id}:{summary_id}"


def log_value(request_id: int, session_id: int) -> str:
    return f"{request_id}:{session_id}"


def parse_pair(value: str) -> tuple[int, str] | None:
    """(request id, the rest) from a button or option value; None when it is not ours (a 4xx, never a 500)."""
    head, sep, rest = value.partition(":")
    if not sep or not head.isdigit() or not rest or len(value) > 200:
        return None
    return int(head), rest
