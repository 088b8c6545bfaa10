"""Old home of the rules engine's sentences, now in bot/texts/policy.py (kept for importers not yet moved)."""

from bot.texts.policy import (
    ALLEGATION_GUIDANCE,
    BASELINE,
    BASELINE_FILE,
    CONCERN_CASES,
    CONCERN_ROLE_NAMES,
    MESSAGES,
    ROLE_NAMES,
    SETTING_UNKNOWN,
    SETTING_WORDS,
    fmt,
    who,
)

__all__ = [
    "ALLEGATION_GUIDANCE", "BASELINE", "BASELINE_FILE", "CONCERN_CASES", "CONCERN_ROLE_NAMES", "MESSAGES",
    "ROLE_NAMES", "SETTING_UNKNOWN", "SETTING_WORDS", "fmt", "who",
]
