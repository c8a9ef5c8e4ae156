"""`shared.fast_sql.Lock`: what is inlined into BEGIN's simple query is only an integer or a plain
code; anything else is refused before it reaches the database."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared.fast_sql import Lock

_TABLE = sa.Table("ledger_accounts", sa.MetaData(), sa.Column("code", sa.String(200), primary_key=True))


@pytest.mark.parametrize(("key", "sql"), [
    (0, "SELECT pg_advisory_xact_lock(0)"),
    (-(2 ** 63), f"SELECT pg_advisory_xact_lock({-(2 ** 63)})"),
    (2 ** 63 - 1, f"SELECT pg_advisory_xact_lock({2 ** 63 - 1})"),
])
def test_advisory_keys_inside_64_bits(key, sql):
    assert Lock.advisory(key).sql == sql


@pytest.mark.parametrize("key", [2 ** 63, -(2 ** 63) - 1, "1; DROP TABLE x", 1.5e30])
def test_advisory_keys_outside_64_bits_or_not_integers_are_refused(key):
    with pytest.raises((ValueError, TypeError)):
        Lock.advisory(key)


def test_row_locks_are_sorted_deduplicated_and_quoted():
    lock = Lock.rows(_TABLE, "code", ["wallet:community:2026-12:a1", "payable:b2", "payable:b2"])
    assert lock.sql == ('SELECT 1 FROM "ledger_accounts" WHERE "code" IN (\'payable:b2\', '
                        '\'wallet:community:2026-12:a1\') ORDER BY "code" FOR UPDATE')


@pytest.mark.parametrize("values", [
    [], ["a'b"], ["a b"], ["x\\"], ["x;"], ["$1"], ["中文"], ["a" * 201], [None], [1], ["ok", "o'k"],
])
def test_row_lock_values_that_are_not_plain_codes_are_refused(values):
    with pytest.raises(ValueError):
        Lock.rows(_TABLE, "code", values)


def test_an_unknown_column_is_refused():
    with pytest.raises(KeyError):
        Lock.rows(_TABLE, "nope", ["a"])
