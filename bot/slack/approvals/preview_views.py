"""The preview (ImmyBot's dry run, SPEC §8) on the approval card, its details modal and its CSV.

Limits: the card shows the summary line and at most `CARD_LINES` computers, problems first (failed,
offline, no answer), in sections of `LINES_PER_SECTION` so each stays far below 3,000 characters; past
that an "All N computers" button (an accessory: no extra block) opens a read-only modal listing up to
`MODAL_COMPUTERS`; past that the modal says so and the CSV (`preview_csv`, the one CSV writer) holds all.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ButtonElement, SectionBlock
from slack_sdk.models.views import View

from bot.safe_csv import csv_text
from bot.slack import blocks as kit
from bot.slack.approvals import ids
from bot.slack.text import clip, more, one_line, plural
from bot.workflow.model import Request
from bot.workflow.preview import ComputerPreview, Preview, PreviewState, Verdict, summary_line

CARD_LINES = 20
LINES_PER_SECTION = 10  # a line is at most ~280 characters: 10 stay under the 3,000 of a section
MODAL_COMPUTERS = 500  # 50 sections: well under 100 blocks and the 250 kB a view may weigh
CSV_FIELDS = ("computer_id", "computer_name", "verdict", "detected_version", "desired_version", "reason")

_ICONS = {
    Verdict.INSTALL: ":inbox_tray:",
    Verdict.UPDATE: ":arrow_up:",
    Verdict.UNINSTALL: ":wastebasket:",
    Verdict.NOTHING: ":white_check_mark:",
    Verdict.OFFLINE: ":zzz:",
    Verdict.FAILED: ":x:",
    Verdict.PENDING: ":hourglass_flowing_sand:",
}


def preview_line(computer: ComputerPreview) -> str:
    """`:arrow_up: *PC-1* · would update: 19.00 → 23.01`; at most ~280 characters, everything escaped."""
    text = f"{_ICONS[computer.verdict]} *{clip(one_line(computer.computer_name), 63)}* · {computer.verdict.words}"
    if computer.verdict in (Verdict.INSTALL, Verdict.UPDATE, Verdict.UNINSTALL, Verdict.NOTHING):
        detected = clip(one_line(computer.detected_version), 30) if computer.detected_version else "none"
        desired = clip(one_line(computer.desired_version), 30) if computer.desired_version else "none"
        text += f": {detected} → {desired}"
    if computer.reason:
        text += f": {clip(one_line(computer.reason), 100)}"
    return text


def _sections(lines: list[str]) -> list[SectionBlock]:
    return [kit.section("\n".join(lines[i : i + LINES_PER_SECTION])) for i in range(0, len(lines), LINES_PER_SECTION)]


def _headline(preview: Preview) -> str:
    line = f"*Preview (ImmyBot's dry run):* {clip(summary_line(preview.computers), 1000)}"
    if preview.state is PreviewState.PARTIAL:
        line += "\n_Gave up waiting after 10 minutes: this is what was known then._"
    return line


def preview_blocks(request: Request, preview: Preview | None) -> list[Block]:
    """The approval card's preview part: nothing without a preview, a state line, or the verdicts."""
    if preview is None:
        return []
    block_id = ids.preview_block_id(request.id)
    if preview.state is PreviewState.RUNNING:
        return [kit.context(":hourglass_flowing_sand: Preview running: ImmyBot is checking what it would do on "
                            "each computer. You may decide before it ends.", block_id=block_id)]
    if preview.state is PreviewState.UNAVAILABLE:
        return [kit.context(":warning: The preview could not start (ImmyBot unavailable). "
                            "You can still decide without it.", block_id=block_id)]
    ordered = preview.ordered()
    shown = ordered[:CARD_LINES]
    details = None
    if len(ordered) > len(shown):
        details = ButtonElement(text=kit.plain(f"All {len(ordered)} computers"), action_id=ids.PREVIEW_DETAILS_ACTION,
                                value=str(request.id))
    head = SectionBlock(text=kit.section(_headline(preview)).text, block_id=block_id, accessory=details)
    blocks: list[Block] = [head, *_sections([preview_line(c) for c in shown])]
    if details is not None:
        blocks.append(kit.context(f"{more(len(ordered), len(shown))}: press “All {len(ordered)} computers”."))
    return blocks


def preview_details_modal(request: Request, preview: Preview) -> dict:
    """Read-only: every computer's verdict (up to `MODAL_COMPUTERS`; the CSV has them all)."""
    ordered = preview.ordered()
    shown = ordered[:MODAL_COMPUTERS]
    blocks: list[Block] = [
        kit.section(f"*{request.label}* · {kit.escape_action(request)} {kit.software_text(request)}\n"
                    f"{_headline(preview)}"),
        *_sections([preview_line(c) for c in shown]),
    ]
    if len(ordered) > len(shown):
        blocks.append(kit.context(f"{more(len(ordered), len(shown))}: the CSV in the approval card's thread "
                                  f"lists all {plural(len(ordered), 'computer')}."))
    view = View(type="modal", callback_id=ids.PREVIEW_MODAL, title=kit.plain(f"Preview {request.label}"),
                close=kit.plain("Close"), private_metadata=str(request.id), blocks=blocks)
    return view.to_dict()


def preview_needs_csv(preview: Preview) -> bool:
    """Whether the details modal leaves computers out (then post `preview_csv` in the approval thread)."""
    return len(preview.computers) > MODAL_COMPUTERS


def preview_csv(preview: Preview) -> str:
    """Every computer's verdict, written and defused for spreadsheets by the one CSV writer."""
    rows = ([c.computer_id, c.computer_name, c.verdict.value, c.detected_version, c.desired_version, c.reason]
            for c in preview.ordered())
    return csv_text(CSV_FIELDS, rows)
