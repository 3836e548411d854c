"""Ids of the `/immy` sub-command replies (all ephemeral, none interactive)."""

COMMAND = "/immy"
HELP_BLOCK = "help"
STATUS_CARD_BLOCK = "computer_status"
REQUESTS_LIST_BLOCK = "requests_list"
AUDIT_LIST_BLOCK = "audit_list"
REFUSAL_BLOCK = "refusal"
AUDIT_CSV_FILENAME = "immy-audit.csv"
