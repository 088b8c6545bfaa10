"""Chaperone: a Teams bot that makes schools' live online sessions with pupils safe by construction."""

from pathlib import Path

__version__ = "0.1.0"

#: The repository root in a development checkout (manifest/ lives there; nothing served needs it).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
