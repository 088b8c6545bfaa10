"""Meetings: the MeetingProvider protocol and its implementations (local, Microsoft Graph)."""
