"""On PostgreSQL, a connection the server ends is a DatabaseUnavailable, then a new one.

The server ends a session when it shuts down, when an operator terminates
the backend, or when it crashes; each connection here ends its own backend
(``pg_terminate_backend(pg_backend_pid())``), which the server answers as it
answers a shutdown.  Whatever was in progress fails with
``DatabaseUnavailable`` (a 503 for a request, one line in the log), nothing of
it is stored, and the next use of the store connects again.
"""

from __future__ import annotations

import pytest

from caldav_sched.store.errors import DatabaseUnavailable
from caldav_sched.store.postgresql import PgDatabase
from tests.postgres import needs_postgresql

pytestmark = needs_postgresql

END_OWN_SESSION = "SELECT pg_terminate_backend(pg_backend_pid())"


@pytest.fixture
def backend() -> str:
    return "postgresql"


async def secrets(db: PgDatabase) -> int:
    rows = await db.reader().execute_fetchall("SELECT count(*) FROM server_secrets")
    return rows[0][0]


def keep(raw, name: str) -> None:
    raw.execute(
        "INSERT INTO server_secrets (name, value, created_at) VALUES (?, 'x', 'now')", (name,)
    )


async def test_a_write_whose_session_ends_is_unavailable_and_the_next_connects_again(db: PgDatabase):
    def work(raw) -> None:
        keep(raw, "lost")
        raw.execute(END_OWN_SESSION)

    with pytest.raises(DatabaseUnavailable):
        await db.write(work)
    await db.write(lambda raw: keep(raw, "kept"))
    assert await secrets(db) == 1


async def test_a_transaction_whose_session_ends_is_unavailable_and_the_next_connects_again(
    db: PgDatabase,
):
    with pytest.raises(DatabaseUnavailable):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO server_secrets (name, value, created_at) VALUES ('lost', 'x', 'now')"
            )
            await conn.execute(END_OWN_SESSION)
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ('kept', 'x', 'now')"
        )
    assert await secrets(db) == 1


async def test_a_read_whose_session_ends_is_unavailable_and_the_next_connects_again(db: PgDatabase):
    with pytest.raises(DatabaseUnavailable):
        await db.reader().execute_fetchall(END_OWN_SESSION)
    with pytest.raises(DatabaseUnavailable):
        await db.point_read(lambda raw: raw.execute(END_OWN_SESSION).fetchone())
    assert await secrets(db) == 0
