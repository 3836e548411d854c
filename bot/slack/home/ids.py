"""Ids of the App Home tab (its Approve/Deny buttons reuse `bot.slack.approvals.ids`)."""

HOME_CALLBACK = "immy_home"
MY_REQUESTS_BLOCK = "home_my_requests"
PENDING_HEADER_BLOCK = "home_pending"
NEW_REQUEST_HINT_BLOCK = "home_hint"
NOT_ALLOWED_BLOCK = "home_not_allowed"


def pending_block_id(request_id: int) -> str:
    return f"home_pending:{request_id}"
