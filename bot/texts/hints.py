"""The next step each kind of error suggests (bot/errors.py), in words a teacher can act on."""

USAGE = "Check what you entered and try again, or type /help."
NOT_FOUND = "Check the reference, or type /help to see your commands."
NOT_PERMITTED = "Ask your school's Chaperone admin if you think you should have access."
POLICY = "Change the booking so that it follows your school's protocol."
CONFLICT = "Someone else got there first; the card shows the latest state."
EXTERNAL = "Nothing was lost. Chaperone will try again; if this persists, tell your IT team the reference."
STORE_CORRUPT = (
    "Restore the file from backup or move it aside; Chaperone has not overwritten it."
)
CONFIG = "Fix the configuration file and start Chaperone again."
