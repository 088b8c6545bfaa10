"""What the store says when a file is damaged or a write cannot go through (read by the admin who restores it)."""

from __future__ import annotations

from pathlib import Path

UNCHANGED = "Chaperone has not changed it."
NOTHING_CHANGED = "Chaperone has not changed anything."


def file_empty(path: Path | str) -> str:
    return f"The store file {path} is empty (it should never be); {UNCHANGED}"


def file_damaged(path: Path | str, error: object = None) -> str:
    because = f" ({error})" if error is not None else ""
    return f"The store file {path} is damaged{because}; {UNCHANGED}"


def not_tinydb(path: Path | str) -> str:
    return f"The store file {path} is not a tinydb database; {UNCHANGED}"


def no_header(path: Path | str) -> str:
    return f"The store file {path} has no Chaperone header; {UNCHANGED}"


def count_mismatch(path: Path | str, found: int, written: object) -> str:
    return f"The store file {path} holds {found} records but was written with {written}; {UNCHANGED}"


def journal_unstarted(path: Path | str, empty: bool) -> str:
    what = "is empty" if empty else "has no complete header line"
    return f"The journal {path} {what} (it is created with one); {UNCHANGED}"


def journal_damaged(path: Path | str, line: int) -> str:
    return f"The journal {path} is damaged at line {line}; {UNCHANGED}"


def journal_no_header(path: Path | str) -> str:
    return f"The journal {path} has no header line; {UNCHANGED}"


def part_missing(what: str, path: Path | str) -> str:
    return f"The store {what} {path} is missing (the table's manifest lists it); {NOTHING_CHANGED}"


def snapshot_older(path: Path | str, generation: int, journal: int) -> str:
    return f"The snapshot {path} is older than its journal (generation {generation}, journal {journal}): it was replaced or lost; {NOTHING_CHANGED}"


def journal_older(path: Path | str, generation: int, snapshot: int) -> str:
    return f"The journal {path} is older than its snapshot (generation {generation}, snapshot {snapshot}): it was replaced; {NOTHING_CHANGED}"


def manifest_damaged(path: Path | str) -> str:
    return f"The store manifest {path} is damaged; {UNCHANGED}"


def journal_cut(path: Path | str, size: int, acknowledged: int, tails: Path | str) -> str:
    return (
        f"The journal {path} ends early: {size} bytes where {acknowledged} were acknowledged, so it was cut or replaced; "
        f"{UNCHANGED} (If you restored it from a backup on purpose, restore the whole folder, or delete {tails}.)"
    )


def store_file_missing(path: Path | str, tables: list[str]) -> str:
    return f"The store file {path} is missing (tables {', '.join(tables)} exist); {NOTHING_CHANGED}"


def folder_missing(path: Path | str, listed_in: str) -> str:
    return f"The store folder {path} is missing ({listed_in} lists it); {NOTHING_CHANGED}"


def folder_unreadable(path: Path | str, error: object) -> str:
    return f"The store folder {path} cannot be read ({error})."


def record_exists(key: str) -> str:
    return f"A record {key} already exists."


def record_changed(key: str) -> str:
    return f"Record {key} was changed by someone else."


def azure(error: str) -> str:
    """The failure named in ``STORE_WRITE_FAILED`` for a Table Storage error."""
    return f"Azure Table Storage: {error}"


TABLES_UNCONFIGURED = "Azure Table Storage needs an endpoint and identity, or a connection string."
TABLES_NOT_HTTPS = "CHAPERONE_TABLES_ENDPOINT must be an https:// address (tokens are never sent in clear)."


def tables_unavailable(error: str) -> str:
    return f"Azure Table Storage is unavailable ({error})."


def tables_no_answer(error: str) -> str:
    return f"Azure Table Storage did not answer ({error})."


def tables_delete_refused(error: str) -> str:
    return f"Azure Table Storage did not accept the delete ({error})."


def no_record(key: str) -> str:
    return f"No record {key}."


def tables_connection_string(problem: str) -> str:
    return f"CHAPERONE_TABLES_CONNECTION_STRING is not usable: {problem}."
