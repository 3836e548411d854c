"""Small text helpers for everything the bot shows in Slack.

Anything a user typed goes through `escape` (or `clip`, which escapes and truncates without cutting an
entity in half) before it lands in mrkdwn, so `<!channel>` or `<https://evil|click>` are shown, not obeyed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

ELLIPSIS = "…"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def truncate(text: str, n: int) -> str:
    """`text` cut to at most `n` characters, ending with an ellipsis when it was cut."""
    if n < 1:
        return ""
    if len(text) <= n:
        return text
    return text[: n - 1].rstrip() + ELLIPSIS


def clip(text: str, n: int) -> str:
    """Escape `text` and keep the result within `n` characters, never splitting an `&amp;`-style entity."""
    escaped = escape(text)
    if len(escaped) <= n:
        return escaped
    pieces: list[str] = []
    used = 0
    for ch in text:
        piece = _ESCAPES.get(ch, ch)
        if used + len(piece) > n - 1:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces).rstrip() + ELLIPSIS


def one_line(text: str) -> str:
    """Collapse newlines and runs of whitespace (for list rows and option labels)."""
    return " ".join(text.split())


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 computer`, `2 computers` (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def hhmm(moment: datetime) -> str:
    """`14:02 UTC` (a naive datetime is taken to be UTC already)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%H:%M} UTC"


def day_hhmm(moment: datetime) -> str:
    """`2025-03-04 14:02 UTC`, for lists that span days."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def mention(user_id: str) -> str:
    """`<@U123>` for a Slack user id; anything else (e.g. `system`) is shown escaped, not as a mention."""
    if _SLACK_USER_ID.match(user_id):
        return f"<@{user_id}>"
    return escape(user_id)


def more(total: int, shown: int) -> str:
    """`and 3 more` when some were left out, else an empty string."""
    return f"and {total - shown} more" if total > shown else ""


# Longer than any name worth typing (computer names are DNS labels of at most 63 characters, catalog
# names rarely pass 80), short enough that a pasted page cannot make every keystroke's substring and
# fuzzy scoring over the whole catalog cost more: the scorers' work grows with the query's length.
SEARCH_QUERY_MAX = 100


def search_query(text: str) -> str:
    """What a typeahead or `/immy status` searches for: trimmed, capped at `SEARCH_QUERY_MAX` characters."""
    return text.strip()[:SEARCH_QUERY_MAX].strip()


_SLACK_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


def mention_any(slack_id: str) -> str:
    """`<@U123>` for a user, `<!subteam^S123>` for a user group; anything else escaped, never a mention."""
    if _SLACK_GROUP_ID.match(slack_id):
        return f"<!subteam^{slack_id}>"
    return mention(slack_id)
