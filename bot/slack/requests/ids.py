"""Ids of the request modal and the request card (callback_id, block_id, action_id).

Block ids of the modal are also the keys of `response_action: errors` and of `view.state.values`.
"""

REQUEST_MODAL = "immy_request"  # callback_id of the request modal

SOFTWARE_BLOCK = "software"
SOFTWARE_ACTION = "software_search"  # external_select: block_suggestion + selected_option
ACTION_BLOCK = "action"
ACTION_ACTION = "action_choice"
COMPUTERS_BLOCK = "computers"
COMPUTERS_ACTION = "computer_search"  # multi_external_select: block_suggestion + selected_options
PERSON_BLOCK = "person"
PERSON_ACTION = "person_pick"  # users_select: selected_user
EMAIL_BLOCK = "email"
EMAIL_ACTION = "email_input"  # email_text_input: value
REBOOT_BLOCK = "reboot"
REBOOT_ACTION = "reboot_choice"
OFFLINE_BLOCK = "offline"
OFFLINE_ACTION = "offline_choice"
PREVIEW_BLOCK = "preview"
PREVIEW_ACTION = "preview_toggle"  # checkboxes: selected_options contains PREVIEW_VALUE when ticked
PREVIEW_VALUE = "preview"
WHEN_BLOCK = "when"
WHEN_ACTION = "when_choice"  # radio_buttons: selected_option.value is a `bot.workflow.schedule.When`
WHEN_TIME_BLOCK = "when_time"
WHEN_TIME_ACTION = "when_time_pick"  # timepicker: selected_time "HH:mm", only with When.AT_TIME
REASON_BLOCK = "reason"
REASON_ACTION = "reason_input"

# The three target inputs: a submission must fill exactly one (errors go on the one at fault, or COMPUTERS_BLOCK).
TARGET_BLOCKS = (COMPUTERS_BLOCK, PERSON_BLOCK, EMAIL_BLOCK)

REQUEST_CARD_BLOCK = "request_card"
