"""Change tracking for the organization directory: what each view holds, and since when.

`DirectoryBook` keeps, per organization and view, every card with the sequence number of its
last change, and tombstones of removed cards. It is refreshed from the directory database
whenever `Directory.generation()` moved (a CLI edit, an account change): cards whose body
differs get a new sequence number and REV, vanished cards become tombstones. A view's sync
token is its highest sequence number, so the token and the ETags change when, and only when,
the data that view shows changes, and a sync-collection REPORT answers only what changed.

The state lives in `<data>/dav/directory.sqlite` (tokens survive restarts) and in memory.
Per-member display colours of directory address books are kept there too. Thread-safe: the
Radicale worker threads share one instance.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from swissbox.dav.orgdir import (
    VIEWS,
    Card,
    MemberRow,
    TeamRow,
    build_views,
    member_card,
    member_uid,
    team_card,
    team_uid,
    visible,
    with_rev,
)
from swissbox.directory import Directory, NotFound

TOKEN_PREFIX = "http://swissbox.invalid/ns/directory-sync/"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cards (
    org_id INTEGER NOT NULL, view TEXT NOT NULL, href TEXT NOT NULL,
    uid TEXT NOT NULL, body TEXT, rev REAL NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (org_id, view, href)
);
CREATE TABLE IF NOT EXISTS views (
    org_id INTEGER NOT NULL, view TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (org_id, view)
);
CREATE TABLE IF NOT EXISTS colours (
    login TEXT NOT NULL, org_id INTEGER NOT NULL, prop TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (login, org_id, prop)
);
"""


@dataclass
class Entry:
    """One card as served: `text` includes REV; `etag` is quoted like HTTP wants it."""

    uid: str
    body: str
    rev: float
    seq: int
    text: str = ""
    etag: str = ""

    def __post_init__(self) -> None:
        self.text = with_rev(self.body, self.rev)
        self.etag = '"' + hashlib.sha256(self.text.encode("utf-8")).hexdigest() + '"'


@dataclass
class View:
    seq: int = 0
    cards: dict[str, Entry] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)  # href -> seq of the removal

    @property
    def last_modified(self) -> float:
        return max((e.rev for e in list(self.cards.values())), default=0.0)


@dataclass
class OrgState:
    org_id: int
    name: str
    roles: dict[str, str]  # login -> role
    views: dict[str, View]
    generation: object = None  # Directory.generation() when last refreshed
    # The directory rows of the last refresh (None until the first): what a refresh diffs.
    members: dict[int, tuple[object, ...]] | None = None
    teams: dict[int, tuple[object, ...]] = field(default_factory=dict)


# {view: ({href: card, or None for a card that must go}, complete?)}: a complete plan lists
# every card of the view (absent ones go too); an incremental one only what may have changed.
Plan = dict[str, tuple[dict[str, Card | None], bool]]


class InvalidToken(ValueError):
    """A sync token this view did not issue (or too new): the client must resync fully."""


class DirectoryBook:
    def __init__(self, directory: Directory, path: Path) -> None:
        self.directory = directory
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
        if row is None:
            epoch = secrets.token_hex(4)
            self._db.execute("INSERT INTO meta (key, value) VALUES ('epoch', ?)", (epoch,))
        else:
            epoch = row[0]
        self.epoch: str = epoch
        self._lock = threading.RLock()
        self._orgs: dict[int, OrgState] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- reading ------------------------------------------------------------------------------

    def org(self, org_id: int) -> OrgState | None:
        """The current state of one organization (refreshed if the directory changed)."""
        with self._lock:
            generation = self.directory.generation()  # read before the rows: never misses one
            state = self._orgs.get(org_id)
            if state is None:
                self._load(org_id)
            elif state.generation == generation:
                return state
            self._refresh(org_id)
            state = self._orgs.get(org_id)
            if state is not None:
                state.generation = generation
            return state

    def token(self, org_id: int, view: str, seq: int) -> str:
        return f"{TOKEN_PREFIX}{self.epoch}/{org_id}/{view}/{seq}"

    def changes(self, org_id: int, view: str, old_token: str) -> tuple[str, list[str]]:
        """(current token, hrefs changed or removed since `old_token`; all when empty)."""
        state = self.org(org_id)
        if state is None:
            raise InvalidToken("no such organization")
        with self._lock:  # a refresh in another thread must not change the view meanwhile
            return self._changes(org_id, view, state.views[view], old_token)

    def _changes(self, org_id: int, view: str, v: View, old_token: str) -> tuple[str, list[str]]:
        token = self.token(org_id, view, v.seq)
        if not old_token:
            return token, list(v.cards)
        prefix = self.token(org_id, view, 0)[:-1]
        if not old_token.startswith(prefix):
            raise InvalidToken(f"sync token {old_token[:200]!r} is not one of this view")
        try:
            since = int(old_token[len(prefix) :])
        except ValueError:
            raise InvalidToken(f"malformed sync token {old_token[:200]!r}") from None
        if since > v.seq or since < 0:
            raise InvalidToken(f"sync token {old_token[:200]!r} is from the future")
        changed = [h for h, e in v.cards.items() if e.seq > since]
        changed += [h for h, s in v.deleted.items() if s > since]
        return token, changed

    # -- colours ------------------------------------------------------------------------------

    def colours(self, login: str, org_id: int) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT prop, value FROM colours WHERE login = ? AND org_id = ?", (login, org_id)
            ).fetchall()
        return {prop: value for prop, value in rows}

    def set_colours(self, login: str, org_id: int, values: dict[str, str | None]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for prop, value in values.items():
                    if value:
                        self._db.execute(
                            "INSERT OR REPLACE INTO colours (login, org_id, prop, value)"
                            " VALUES (?, ?, ?, ?)",
                            (login, org_id, prop, value),
                        )
                    else:
                        self._db.execute(
                            "DELETE FROM colours WHERE login = ? AND org_id = ? AND prop = ?",
                            (login, org_id, prop),
                        )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def forget_login(self, login: str) -> None:
        """Drops what is kept for one login (its colours); called when a member is removed."""
        with self._lock:
            self._db.execute("DELETE FROM colours WHERE login = ?", (login,))

    # -- refreshing ---------------------------------------------------------------------------

    def _load(self, org_id: int) -> None:
        views = {view: View() for view in VIEWS}
        for view, seq in self._db.execute(
            "SELECT view, seq FROM views WHERE org_id = ?", (org_id,)
        ).fetchall():
            if view in views:
                views[view].seq = int(seq)
        for view, href, uid, body, rev, seq in self._db.execute(
            "SELECT view, href, uid, body, rev, seq FROM cards WHERE org_id = ?", (org_id,)
        ).fetchall():
            if view not in views:
                continue
            if body is None:
                views[view].deleted[href] = int(seq)
            else:
                views[view].cards[href] = Entry(uid, body, float(rev), int(seq))
        self._orgs[org_id] = OrgState(org_id, "", {}, views)

    def _refresh(self, org_id: int) -> None:
        state = self._orgs[org_id]
        try:
            org = self.directory.org_by_id(org_id)
            members, teams = self.directory.directory_rows(org_id)
        except NotFound:
            del self._orgs[org_id]
            return
        new_members = {m[0]: m for m in members}
        new_teams = {t[0]: t for t in teams}
        if state.members is None or org.name != state.name:
            # first refresh (or a renamed organization): compare every card
            wanted = build_views(org.id, org.name, members, teams)
            plan: Plan = {}
            for view, cards in wanted.items():
                plan[view] = ({h: c for h, c in cards.items()}, True)
        else:
            plan = self._incremental(org.id, org.name, state, new_members, new_teams)
        state.name = org.name
        state.roles = {m[1]: m[4] for m in members}
        state.members, state.teams = new_members, new_teams
        self._apply(org_id, state, plan)

    @staticmethod
    def _incremental(
        org_id: int,
        org_name: str,
        state: OrgState,
        new_members: dict[int, tuple[object, ...]],
        new_teams: dict[int, tuple[object, ...]],
    ) -> Plan:
        """Cards to (re)consider per view, from the rows that differ since the last refresh:
        {view: ({href: card, or None when it must go}, False)}."""
        old = state.members or {}
        changed = {i for i, row in new_members.items() if old.get(i) != row}
        changed |= old.keys() - new_members.keys()
        shown_changed = any(
            (old.get(i) or (0,) * 6)[4:6] != (new_members.get(i) or (0,) * 6)[4:6] for i in changed
        )
        if shown_changed:  # group cards list only members their view shows
            team_ids = set(new_teams) | set(state.teams)
        else:
            team_ids = {i for i, t in new_teams.items() if state.teams.get(i) != t}
            team_ids |= state.teams.keys() - new_teams.keys()
        plan: Plan = {}
        for view in VIEWS:
            cards: dict[str, Card | None] = {}
            for i in changed:
                row = new_members.get(i)
                if row is not None and visible(view, str(row[4]), bool(row[5])):
                    card = member_card(org_id, org_name, MemberRow._make(row))
                    cards[card.href] = card
                else:
                    cards[f"{member_uid(org_id, i)}.vcf"] = None
            for t in team_ids:
                team = new_teams.get(t)
                if team is not None:
                    card = team_card(org_id, org_name, view, TeamRow._make(team), new_members)
                    cards[card.href] = card
                else:
                    cards[f"{team_uid(org_id, t)}.vcf"] = None
            plan[view] = (cards, False)
        return plan

    def _apply(
        self,
        org_id: int,
        state: OrgState,
        plan: Plan,
    ) -> None:
        """Applies a plan: new or different bodies get the view's next sequence number,
        cards planned as None (or, for a complete plan, absent) become tombstones."""
        now = time.time()
        writes: list[tuple[str, str, str, str | None, float, int]] = []
        seqs: list[tuple[str, int]] = []
        for view, (cards, complete) in plan.items():
            v = state.views[view]
            new_seq = v.seq + 1
            gone = [h for h in v.cards if h not in cards] if complete else []
            gone += [h for h, card in cards.items() if card is None and h in v.cards]
            for href, card in cards.items():
                if card is None:
                    continue
                old = v.cards.get(href)
                if old is not None and old.body == card.body:
                    continue
                v.cards[href] = Entry(card.uid, card.body, now, new_seq)
                v.deleted.pop(href, None)
                writes.append((view, href, card.uid, card.body, now, new_seq))
            for href in gone:
                uid = v.cards.pop(href).uid
                v.deleted[href] = new_seq
                writes.append((view, href, uid, None, now, new_seq))
            if any(w[0] == view for w in writes):
                v.seq = new_seq
                seqs.append((view, new_seq))
        if not writes:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO cards (org_id, view, href, uid, body, rev, seq)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(org_id, *w) for w in writes],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO views (org_id, view, seq) VALUES (?, ?, ?)",
                [(org_id, view, seq) for view, seq in seqs],
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
