"""Adaptive Card templates (JSON, schema 1.5), shipped inside the package and bound by bot.render."""
