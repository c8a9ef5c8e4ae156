"""The statements of the gateway's one hot path, the notices consumer (every replica handles every
mapped event: bench/ordering.py's profile put it level with proxying the requests), built once and
run through `shared.fast_sql` (why: that module's doc), and the periodic inbox prune beside them.
Everything else in the gateway uses the ORM, the inbox's reads included (a page load, not an event).

An event's notices are written by one INSERT … SELECT per audience shape: the recipients are
looked up and their rows written in the same statement, in account-id order (every replica locks
the same rows in the same order: no deadlock between them), ON CONFLICT DO NOTHING on (event,
account) so whichever replica comes first writes them. fast_sql compiles no IN lists, so an
audience of several caregivers, or a district's two desks, is one statement per caregiver or desk.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway.models import FamilyLink, Notice, User
from shared.fast_sql import Query

_notices, _users, _links = Notice.__table__, User.__table__, FamilyLink.__table__
_p = sa.bindparam


def _param(name: str, column: sa.Column) -> sa.BindParameter:
    """A parameter typed as the column it fills (PostgreSQL is told its type: asyncpg infers none
    for a value in a SELECT list)."""
    return _p(name, type_=column.type)


# ---- an event's notices ------------------------------------------------------------------------

_KEEP = _p("keep", type_=sa.Integer)  # INBOX_SIZE, from gateway/notices.py
_AT = _param("notice_at", _notices.c.at)
_newer = _notices.alias("newer")
# the account already has `keep` notices newer than this one: it would fall beyond its inbox, as an
# event replayed by a new consumer group does once its notice was pruned. It is not written again
# (so never pushed, nor listed between two prunes). One short range of ix_notices_user_at.
_INBOX_FULL_OF_NEWER = sa.exists(sa.select(_newer.c.seq).where(_newer.c.user_id == _users.c.id, _newer.c.at > _AT)
                                 .limit(1).offset(_KEEP - 1))
_WRITTEN = ["event_id", "user_id", "kind", "title", "body", "link", "at", "created_at"]


def _deliver(audience: sa.ColumnElement[bool]) -> Query:
    """The draft's notice for each active account of the audience, once per (event, account)."""
    recipients = (sa.select(_param("notice_event", _notices.c.event_id), _users.c.id,
                            _param("notice_kind", _notices.c.kind), _param("notice_title", _notices.c.title),
                            _param("notice_body", _notices.c.body), _param("notice_link", _notices.c.link), _AT,
                            _param("notice_created_at", _notices.c.created_at))
                  .where(_users.c.status == "active", audience, ~_INBOX_FULL_OF_NEWER)
                  .order_by(_users.c.id))

    def build(insert) -> sa.Insert:
        return insert(_notices).from_select(_WRITTEN, recipients).on_conflict_do_nothing(
            index_elements=["event_id", "user_id"])

    return Query(build(postgresql.insert), sqlite=build(sqlite.insert))


_ELDER = _param("elder", _users.c.elder_id)
_PROVIDER = _param("provider", _users.c.provider_id)
_DISTRICT = _param("district", _users.c.district_code)
# the elder's own account and every family account linked to the elder (consent not revoked)
DELIVER_HOUSEHOLD = _deliver(sa.or_(
    sa.and_(_users.c.role == "elder", _users.c.elder_id == _ELDER),
    sa.and_(_users.c.role == "family", _users.c.id.in_(
        sa.select(_links.c.user_id).where(_links.c.elder_id == _ELDER, _links.c.revoked_at.is_(None))))))
DELIVER_PROVIDER_DESK = _deliver(sa.and_(_users.c.role == "provider_admin", _users.c.provider_id == _PROVIDER))
DELIVER_PROVIDER_STAFF = _deliver(sa.and_(sa.or_(_users.c.role == "provider_admin", _users.c.role == "caregiver"),
                                          _users.c.provider_id == _PROVIDER))
DELIVER_CAREGIVER = _deliver(sa.and_(_users.c.role == "caregiver",
                                     _users.c.caregiver_id == _param("caregiver", _users.c.caregiver_id)))
# a district's desks by role: its officers; its operators and the whole city's (no district)
DELIVER_DISTRICT_DESK = {
    "officer": _deliver(sa.and_(_users.c.role == "officer", _users.c.district_code == _DISTRICT)),
    "operator": _deliver(sa.and_(_users.c.role == "operator",
                                 sa.or_(_users.c.district_code == _DISTRICT, _users.c.district_code.is_(None)))),
}
DELIVER_ACCOUNT = _deliver(_users.c.id == _param("account", _users.c.id))

# the display name a notice gives a caregiver: their account's (the oldest, should there be two)
CAREGIVER_NAME = Query(sa.select(_users.c.display_name)
                       .where(_users.c.caregiver_id == _param("caregiver", _users.c.caregiver_id))
                       .order_by(_users.c.created_at).limit(1))
# the event's rows written lately, by this replica or another: what may go live
FRESH_NOTICES = Query(sa.select(_notices).where(_notices.c.event_id == _param("notice_event", _notices.c.event_id),
                                                _notices.c.created_at >= _param("since", _notices.c.created_at)))

# ---- the periodic prune ------------------------------------------------------------------------

NEWEST_SEQ = Query(sa.select(sa.func.coalesce(sa.func.max(_notices.c.seq), 0).label("seq")))

_touched, _inbox, _doomed = _notices.alias("touched"), _notices.alias("inbox"), _notices.alias("doomed")
# each account that got a notice after `after_seq` (a range of the primary key): its notices ranked
# newest first, as the inbox lists them (the event's time, then arrival)
_TOUCHED = sa.select(_touched.c.user_id).where(_touched.c.seq > _p("after_seq", type_=sa.BigInteger))
_ranked = (sa.select(_inbox.c.seq, sa.func.row_number().over(partition_by=_inbox.c.user_id,
                                                             order_by=(_inbox.c.at.desc(), _inbox.c.seq.desc()))
                     .label("place"))
           .where(_inbox.c.user_id.in_(_TOUCHED)).subquery("ranked"))
_BEYOND = sa.select(_ranked.c.seq).where(_ranked.c.place > _KEEP)
# everything beyond those accounts' newest `keep`, in one statement. On PostgreSQL rows another
# replica's prune holds are skipped (it is deleting them): replicas pruning at once neither wait
# for nor deadlock with each other. SQLite has one writer at a time and no SKIP LOCKED.
PRUNE_INBOXES = Query(
    sa.delete(_notices).where(_notices.c.seq.in_(
        sa.select(_doomed.c.seq).where(_doomed.c.seq.in_(_BEYOND)).with_for_update(skip_locked=True))),
    sqlite=sa.delete(_notices).where(_notices.c.seq.in_(_BEYOND)))
