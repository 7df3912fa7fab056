"""A device fault's words, by its kind (kiosk.devices.fault_kind): which catalog entry says it.

The workflows say what went wrong while they used a device; the counter's device bar says it
for a check, and a printer's own faults there in its own words (what to do at that printer).
A kind not listed here is shown in the driver's own sentence.
"""

FAULT_KEYS = {
    "no_card": "dev_no_card",
    "card_removed": "dev_card_removed",
    "sam_selftest_failed": "dev_sam_selftest_failed",
    "sam_unauthorised": "dev_sam_unauthorised",
    "request_checksum": "dev_request_checksum",
    "request_length": "dev_request_length",
    "bad_command": "dev_bad_command",
    "unauthorised": "dev_unauthorised",
    "unknown_error": "dev_unknown_error",
    "card_auth_failed": "dev_card_auth_failed",
    "sam_auth_failed": "dev_sam_auth_failed",
    "validation_failed": "dev_validation_failed",
    "unknown_card_type": "dev_unknown_card_type",
    "read_failed": "dev_read_failed",
    "random_failed": "dev_random_failed",
    "select_failed": "dev_select_failed",
    "no_content": "dev_no_content",
    "protocol": "dev_protocol",
    "link": "dev_link",
    "cover_open": "dev_cover_open",
    "feeder_empty": "dev_feeder_empty",
    "ribbon_out": "dev_ribbon_out",
    "hopper_full": "dev_hopper_full",
    "jam": "dev_jam",
    "nack": "dev_nack",
    "timeout": "dev_timeout",
}

# by the device's role (kiosk.devices.ConfiguredDevice), then the kind
PRINTER_FAULT_KEYS = {
    "card-printer": {
        "jam": "ctr_fault_card_jam",
        "cover_open": "ctr_fault_card_cover_open",
        "ribbon_out": "ctr_fault_card_ribbon_out",
        "feeder_empty": "ctr_fault_card_feeder_empty",
        "hopper_full": "ctr_fault_card_hopper_full",
    },
    "ticket-printer": {
        "cover_open": "ctr_fault_ticket_cover_open",
        "paper_out": "ctr_fault_ticket_paper_out",
        "offline": "ctr_fault_ticket_offline",
    },
}
