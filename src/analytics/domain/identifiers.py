"""Campaign and creator ids: arbitrary text (CONTRACT.md §1), within bounds every engine keeps."""

MAX_ID_LENGTH = 255
"""Longest id a load accepts and a request may name: longer ones are refused, never truncated,
so no loaded campaign is ever unreachable."""


def id_problem(identifier: str) -> str | None:
    """Why `identifier` can never be a stored id, or None when it can be.

    NUL is refused because PostgreSQL text cannot hold it: on every engine alike, an id with
    one is refused by a load and simply not found by a request.
    """
    if identifier == "":
        return "id must not be empty"
    if len(identifier) > MAX_ID_LENGTH:
        return f"id is longer than {MAX_ID_LENGTH} characters"
    if "\x00" in identifier:
        return "id must not contain a NUL character"
    return None
