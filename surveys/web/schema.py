"""The survey database: tables (SQLAlchemy Core) and opening a database by path or URL.

SQLite (a file, the default) runs in WAL mode with a busy timeout and takes its write lock at the
start of every transaction (``BEGIN IMMEDIATE``), so concurrent respondents queue instead of
failing; PostgreSQL is used through psycopg 3 when given a ``postgresql://`` URL. Unique
constraints make a second record impossible even under races: one invite per token and per
respondent, one answer per invite and page, per invite and task, per invite and MaxDiff set.

Schema versions: ``SCHEMA_VERSION`` is what this winback writes; an older database is brought
up to it when opened (:func:`upgrade`, each step in :data:`UPGRADES` adds what the next version
has and nothing it stored changes), a newer one is refused with a message to upgrade winback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from winback.errors import WinbackError

SCHEMA_VERSION = "2"
#: the database file made beside the study file when no --db is given
DEFAULT_DB_NAME = "survey.db"
#: seconds a writer waits for SQLite's lock before giving up
SQLITE_BUSY_SECONDS = 60.0

metadata = sa.MetaData()

#: key/value settings: schema version, study fingerprint, the design shown, the form secret
meta = sa.Table(
    "winback_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

invites = sa.Table(
    "winback_invites",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("respondent_id", sa.String(200), nullable=False, unique=True),
    sa.Column("version", sa.Integer, nullable=False),
    # display order: [[task, [alt, ...]], ...] in the order shown (JSON)
    sa.Column("layout", sa.Text, nullable=False),
    sa.Column("customer_value", sa.Text),
    sa.Column("wave", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("completed_at", sa.Float),
    sa.Column("outcome", sa.String(20)),  # complete | screened_out
    sa.Column("current_page", sa.String(64)),
    # the MaxDiff design version dealt to the respondent (schema 2; None without a MaxDiff)
    sa.Column("maxdiff_version", sa.Integer),
)

page_answers = sa.Table(
    "winback_page_answers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("invite_id", sa.Integer, sa.ForeignKey("winback_invites.id"), nullable=False),
    sa.Column("page", sa.String(64), nullable=False),
    sa.Column("answers", sa.Text, nullable=False),  # {respondents.csv column: text} (JSON)
    sa.Column("shown", sa.Text, nullable=False),  # question ids shown on the page (JSON)
    sa.Column("seconds", sa.Float),
    sa.Column("submitted_at", sa.Float, nullable=False),
    sa.UniqueConstraint("invite_id", "page", name="uq_page_answer"),
)

task_answers = sa.Table(
    "winback_task_answers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("invite_id", sa.Integer, sa.ForeignKey("winback_invites.id"), nullable=False),
    sa.Column("task", sa.Integer, nullable=False),  # the design's task number
    sa.Column("task_position", sa.Integer, nullable=False),  # shown as screen n
    sa.Column("version", sa.Integer, nullable=False),
    # [{"alt": "2", "alt_position": 1, "levels": {attribute: label}}, ...] as shown (JSON)
    sa.Column("shown", sa.Text, nullable=False),
    sa.Column("chosen", sa.String(20), nullable=False),  # "1".."J", "status_quo", "none"
    sa.Column("would_buy", sa.Integer),  # dual-response none: 1 yes, 0 no
    sa.Column("seconds", sa.Float),
    sa.Column("submitted_at", sa.Float, nullable=False),
    sa.UniqueConstraint("invite_id", "task", name="uq_task_answer"),
)


#: one row per respondent and MaxDiff set answered (schema 2)
maxdiff_answers = sa.Table(
    "winback_maxdiff_answers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("invite_id", sa.Integer, sa.ForeignKey("winback_invites.id"), nullable=False),
    sa.Column("maxdiff_set", sa.Integer, nullable=False),  # the design's set number (from 1)
    sa.Column("version", sa.Integer, nullable=False),  # the MaxDiff design version
    sa.Column("shown", sa.Text, nullable=False),  # the items' codes in screen order (JSON)
    sa.Column("best", sa.String(200), nullable=False),  # the item code chosen most
    sa.Column("worst", sa.String(200), nullable=False),  # the item code chosen least
    sa.Column("seconds", sa.Float),
    sa.Column("submitted_at", sa.Float, nullable=False),
    sa.UniqueConstraint("invite_id", "maxdiff_set", name="uq_maxdiff_answer"),
)


def database_url(db: str | Path) -> str:
    """The SQLAlchemy URL of a database given as a file path or a URL.

    A file path becomes ``sqlite:///<absolute path>``; ``postgresql://`` and ``postgres://``
    URLs use the psycopg 3 driver.

    Examples
    --------
    >>> database_url("postgresql://survey@localhost/winback")
    'postgresql+psycopg://survey@localhost/winback'
    >>> database_url("/tmp/survey.db")
    'sqlite:////tmp/survey.db'
    """
    text = str(db)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+]*://", text):
        for prefix in ("postgresql://", "postgres://"):
            if text.startswith(prefix):
                return "postgresql+psycopg://" + text[len(prefix) :]
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def is_url(db: str | Path) -> bool:
    """Whether ``db`` is a database URL rather than a file path."""
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+]*://", str(db)))


def make_engine(db: str | Path) -> Engine:
    """An engine for the survey database (nothing is created yet).

    Examples
    --------
    >>> engine = make_engine("/tmp/doc-survey.db")
    >>> engine.dialect.name
    'sqlite'
    """
    url = database_url(db)
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False},
            pool_size=8,
            max_overflow=16,
            pool_timeout=120,
        )
        _sqlite_settings(engine)
        return engine
    try:
        return sa.create_engine(
            url, pool_size=8, max_overflow=16, pool_timeout=120, pool_pre_ping=True
        )
    except (ModuleNotFoundError, sa.exc.ArgumentError) as exc:
        raise WinbackError(f"cannot open database {safe_url(url)}: {exc}") from None


def _sqlite_settings(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # let SQLAlchemy's "begin" below start transactions, not the sqlite3 module
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode across a server crash
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # take the write lock up front: a deferred transaction that reads, then writes, can fail
        # at once with "database is locked" when another writer got in between
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def safe_url(url: str) -> str:
    """A URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def create_tables(engine: Engine) -> None:
    """Create the tables that do not exist yet."""
    metadata.create_all(engine)


def _upgrade_1_to_2(conn: sa.Connection) -> None:
    """Schema 2: the MaxDiff (a column of the invites, a table of answers)."""
    conn.execute(sa.text("ALTER TABLE winback_invites ADD COLUMN maxdiff_version INTEGER"))
    metadata.create_all(conn, tables=[maxdiff_answers])


#: version -> the step that brings a database of that version to the next one
UPGRADES = {"1": ("2", _upgrade_1_to_2)}


def upgrade(engine: Engine) -> str | None:
    """Bring an older survey database up to :data:`SCHEMA_VERSION`, one step per version,
    each in one transaction (with the version's row locked, so two processes opening it at
    once upgrade it once). Returns the version it had (None: no survey, or already current).

    Nothing stored changes: a step only adds tables and columns.
    """
    version = read_meta(engine).get("schema_version")
    if version is None or version == SCHEMA_VERSION or version not in UPGRADES:
        return None
    before = version
    while version in UPGRADES:
        with engine.begin() as conn:
            q = sa.select(meta.c.value).where(meta.c.key == "schema_version")
            if conn.dialect.name == "postgresql":
                q = q.with_for_update()
            now = conn.execute(q).scalar_one()
            if now != version:  # upgraded by another process meanwhile
                version = now
                continue
            target, step = UPGRADES[version]
            step(conn)
            conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value=target))
            version = target
    return before


def read_meta(engine: Engine) -> dict[str, str]:
    """Every meta setting; empty when the database holds no survey."""
    insp = sa.inspect(engine)
    if not insp.has_table(meta.name):
        return {}
    with engine.begin() as conn:
        return {k: v for k, v in conn.execute(sa.select(meta.c.key, meta.c.value))}


def dumps(obj: Any) -> str:
    """Compact JSON for the text columns."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
