"""Ids of the thread messages (status message, final summary) and the CSV attachment."""

STATUS_BLOCK = "status"
SUMMARY_HEADLINE_BLOCK = "summary_headline"
SUMMARY_CSV_FILENAME = "immy-request-{id}.csv"  # .format(id=request.id)
