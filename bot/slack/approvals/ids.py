"""Ids of the approval card's buttons and the deny-reason modal (the home tab reuses the buttons)."""

APPROVE_ACTION = "approval_approve"  # button value = the request id
DENY_ACTION = "approval_deny"  # button value = the request id; opens DENY_MODAL
APPROVAL_BUTTONS_BLOCK = "approval_buttons"  # block_id prefix: f"{APPROVAL_BUTTONS_BLOCK}:{request_id}"

DENY_MODAL = "approval_deny_reason"  # callback_id; private_metadata = {"request_id", "channel", "ts"}
DENY_REASON_BLOCK = "deny_reason"
DENY_REASON_ACTION = "deny_reason_input"


def buttons_block_id(request_id: int) -> str:
    return f"{APPROVAL_BUTTONS_BLOCK}:{request_id}"

PREVIEW_BLOCK = "preview"  # block_id prefix of the approval card's preview section: f"{PREVIEW_BLOCK}:{request_id}"
PREVIEW_DETAILS_ACTION = "preview_details"  # button value = the request id; opens PREVIEW_MODAL
PREVIEW_MODAL = "preview_details"  # callback_id of the read-only details modal
PREVIEW_CSV_FILENAME = "immy-preview-{id}.csv"  # .format(id=request.id)


def preview_block_id(request_id: int) -> str:
    return f"{PREVIEW_BLOCK}:{request_id}"
