"""Safeguarding concerns: the record, its repository, the workflow that stores and announces it, and its cards."""
