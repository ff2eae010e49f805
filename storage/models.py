"""The tables. Every column that describes a person is exported by /mijngegevens (later issue)
and removed by /vergeetmij, so keep them few."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from functools import cache

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Stored defaults read the one clock (tests move it; see bot/clock.py)."""
    return clock.now()


def new_code() -> str:
    """An unguessable short code for links people share (12 URL-safe characters)."""
    return secrets.token_urlsafe(9)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back an aware datetime, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Region(Base):
    """A part of the organisation's territory (default: noord, oost, west, zuid)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2), default="NL")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Member(Base):
    """Someone who consented. Before consent there is no row at all."""

    __tablename__ = "members"
    __table_args__ = (
        # The findable members of a region, where they live: the talent search's join (0009).
        Index(
            "ix_members_findable",
            "region_code",
            "findable",
            "unreachable_since",
            "id",
            "latitude",
            "longitude",
        ),
        # PostgreSQL's talent search also has partial indexes: see `talent_search_indexes`.
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, index=True)
    locale: Mapped[str] = mapped_column(String(5))
    kind: Mapped[str | None] = mapped_column(String(16))
    place_id: Mapped[int | None] = mapped_column(Integer)
    town: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    region_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code", ondelete="SET NULL", onupdate="CASCADE")
    )
    onboarding_step: Mapped[str] = mapped_column(String(16), default="kind")
    first_name: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(64))
    contact_direct: Mapped[bool] = mapped_column(Boolean, default=False)
    findable: Mapped[bool] = mapped_column(Boolean, default=False)
    available_evenings: Mapped[bool] = mapped_column(Boolean, default=False)
    available_weekends: Mapped[bool] = mapped_column(Boolean, default=False)
    available_daytime: Mapped[bool] = mapped_column(Boolean, default=False)
    available_online: Mapped[bool] = mapped_column(Boolean, default=False)
    profile_step: Mapped[str | None] = mapped_column(String(16))
    unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "Never ask me again": organisers' contact requests stop altogether.
    no_contact_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    # Announcements a member does not want: training days, general news (both: none at all).
    mute_training: Mapped[bool] = mapped_column(Boolean, default=False)
    mute_news: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    consents: Mapped[list[Consent]] = relationship(
        back_populates="member", cascade="all, delete-orphan", passive_deletes=True
    )
    skills: Mapped[list[MemberSkill]] = relationship(
        back_populates="member", cascade="all, delete-orphan", passive_deletes=True
    )


class Consent(Base):
    """Proof of explicit consent: which text version, and when (GDPR art. 7 and 9)."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(5))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship(back_populates="consents")


class Role(Base):
    """A staff or volunteer role, keyed by Telegram id so it can be given before /start."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code", ondelete="CASCADE", onupdate="CASCADE")
    )
    granted_by: Mapped[int | None] = mapped_column(BigInteger)  # blanked when they are erased
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Skill(Base):
    """A catalogue skill, named in every language, with the words members use for it."""

    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(32), default="skills")
    name_nl: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    name_sv: Mapped[str] = mapped_column(String(100))
    synonyms: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def name(self, locale: str) -> str:
        return str(getattr(self, f"name_{locale}", None) or self.name_nl)


class MemberSkill(Base):
    """A talent (with a level) or a learning wish, as the member typed it.

    `skill_id` is empty for words the catalogue lacks (candidates for organisers to curate);
    `status` is "unsure" while the member has not yet picked between close matches.
    """

    __tablename__ = "member_skills"
    __table_args__ = (
        # The talent search reads only this index (0009).
        Index("ix_member_skills_talent", "skill_id", "kind", "status", "level", "member_id"),
        # A region's members' talents, when the region is the smaller side (0010).
        Index("ix_member_skills_by_member", "member_id", "skill_id", "kind", "status", "level"),
        # A skill's confirmed talents in member order: see `talent_search_indexes` (0014).
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("skills.id", ondelete="SET NULL"))
    typed_text: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))  # "talent" | "wish"
    level: Mapped[str | None] = mapped_column(String(16))  # talents: some|experienced|teach
    status: Mapped[str] = mapped_column(String(8), default="ok")  # "ok" | "unsure"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship(back_populates="skills")
    skill: Mapped[Skill | None] = relationship(lazy="joined")


class ContactRequest(Base):
    """An organiser asked, through the bot, whether a member may be contacted."""

    __tablename__ = "contact_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("skills.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who searched the talent base or asked for a contact, when, with what query.

    No member data is copied in; an erased organiser's id is blanked, the entry stays.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(32))
    query: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(32))
    results: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


workshop_topics = Table(
    "workshop_topics",
    Base.metadata,
    Column("workshop_id", ForeignKey("workshops.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)


class Workshop(Base):
    """One session: a time, a place (or an online link), a capacity and its topics."""

    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    place_id: Mapped[int | None] = mapped_column(Integer)
    town: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    region_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code", ondelete="SET NULL", onupdate="CASCADE")
    )
    online_url: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(5), default="nl")
    members_only: Mapped[bool] = mapped_column(Boolean, default=False)
    signup_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trainer_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="published")
    track_id: Mapped[int | None] = mapped_column(
        ForeignKey("tracks.id", ondelete="SET NULL"), index=True
    )
    checkin_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    # The poster's deep link `/start w_<code>`: unguessable, so links cannot be enumerated.
    code: Mapped[str] = mapped_column(String(16), unique=True, default=new_code)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    topics: Mapped[list[Skill]] = relationship(secondary=workshop_topics, lazy="selectin")

    @property
    def online(self) -> bool:
        return bool(self.online_url) and self.latitude is None


class Signup(Base):
    """A member's place on a workshop: confirmed, waiting (with a position) or cancelled."""

    __tablename__ = "signups"
    __table_args__ = (
        UniqueConstraint("workshop_id", "member_id"),
        Index("ix_signups_workshop_status", "workshop_id", "status", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # confirmed | waiting | cancelled
    position: Mapped[int] = mapped_column(Integer, default=0)  # order on the waiting list
    # The reminder: claimed by one worker, then marked sent (see bot/services/reminders.py).
    reminder_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feedback_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Feedback(Base):
    """An attendee's rating (1-5) of a workshop, with an optional comment."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("workshop_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Track(Base):
    """A learning track: a series of sessions (workshops), perhaps after another track,
    allocated first come first served or by a published, reproducible lottery."""

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    prerequisite_id: Mapped[int | None] = mapped_column(
        ForeignKey("tracks.id", ondelete="SET NULL")
    )
    allocation: Mapped[str] = mapped_column(String(16), default="fcfs")  # fcfs | lottery
    places: Mapped[int] = mapped_column(Integer)
    draw_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seed: Mapped[str | None] = mapped_column(String(64))  # secret until the draw, then shown
    seed_commitment: Mapped[str | None] = mapped_column(String(64))  # SHA-256, published
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    intake_question: Mapped[str | None] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None: national. A regional organiser creates and edits tracks of their region only (0016).
    region_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code", ondelete="SET NULL", onupdate="CASCADE")
    )


class TrackPlace(Base):
    """A member's application to a track: applied (before a draw), placed or waiting.

    `previous_places` is what the lottery weighed, kept so anyone can re-run the draw."""

    __tablename__ = "track_places"
    __table_args__ = (UniqueConstraint("track_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # applied | placed | waiting | withdrawn
    position: Mapped[int] = mapped_column(Integer, default=0)
    previous_places: Mapped[int | None] = mapped_column(Integer)
    intake_answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the member was told they completed the track (claimed before sending: once) (0016).
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Broadcast(Base):
    """An organiser's announcement: its texts per language, its audience, where it stands.

    `texts` maps a locale to the HTML each member in that language gets (the organisation's
    default language for the rest); `audience` is the filter as chosen (`broadcasts.Audience`),
    kept to show what was asked for. The recipients themselves are its outbox rows.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(BigInteger)  # the organiser's Telegram id
    kind: Mapped[str] = mapped_column(String(16), default="training")  # training | news
    # draft | approval | scheduled | sending | paused | cancelled | done
    status: Mapped[str] = mapped_column(String(16), default="draft")
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    default_locale: Mapped[str] = mapped_column(String(8), default="nl")
    media: Mapped[dict[str, str] | None] = mapped_column(JSON)  # {"type": photo, "file_id": …}
    buttons: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)
    audience: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # Per language, the messages as they go out (`outbox.Letter` parts, buttons translated),
    # made when it starts: its outbox rows name only their language.
    letters: Mapped[dict[str, list[dict[str, object]]]] = mapped_column(JSON, default=dict)
    region_code: Mapped[str | None] = mapped_column(String(32))  # a regional organiser's
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    muted: Mapped[int] = mapped_column(Integer, default=0)  # members who muted from its button
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The organiser's live progress message, edited in place while it goes out.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxRow(Base):
    """One message to one chat, kept until Telegram has it (`bot/outbox.py` says the rules).

    `state`: queued → sending (claimed by a sender, `claimed_at`) → sent | unreachable |
    failed, or cancelled. `payload["parts"]` is what to send, in order (a text with its
    buttons, a photo, a file's name and caption); `parts_done` how many Telegram has, so a
    retry goes on from there. `attachment` is the file's bytes when there is one.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # What a sender claims next: the most urgent first, then in order of posting.
        Index("ix_outbox_ready", "state", "priority", "id"),
        Index("ix_outbox_broadcast", "broadcast_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="queued")
    chat_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE")
    )
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parts_done: Mapped[int] = mapped_column(Integer, default=0)  # a text, then its file
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A confidential relay waiting: chat_id is 0 and the payload only says "sealed"; who it
    # goes to and which message is sealed here (bot/confidential_relay.py), until `expires_at`.
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- the confidential path (bot/services/confidential.py; the README says why each column) --


class Counsellor(Base):
    """A counsellor as members see them: an admin sets the name, a short text, the kind
    (internal, external, or the complaints committee) and whether the bot reaches them."""

    __tablename__ = "confidential_counsellors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="internal")
    display_name: Mapped[str] = mapped_column(String(64), default="")
    about: Mapped[str] = mapped_column(String(300), default="")
    reachable: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(8))  # what they last wrote to us in


class ConfidentialCase(Base):
    """What routing needs of a confidential conversation, and nothing readable about who."""

    __tablename__ = "confidential_cases"
    # Ids are never reused (sealed values are bound to them), on SQLite too.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_tag: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    code_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    member_tag: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    member_link: Mapped[bytes] = mapped_column(LargeBinary)
    wipe_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    counsellor_id: Mapped[int | None] = mapped_column(
        ForeignKey("confidential_counsellors.id", ondelete="SET NULL"), index=True
    )
    handover_to: Mapped[int | None] = mapped_column(
        ForeignKey("confidential_counsellors.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(8), default="open")
    identity_shared: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)


class ConfidentialRelay(Base):
    """A message relayed into a counsellor's chat, so that a reply to it finds its case."""

    __tablename__ = "confidential_relays"

    counsellor_id: Mapped[int] = mapped_column(
        ForeignKey("confidential_counsellors.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("confidential_cases.id", ondelete="CASCADE"), index=True
    )


class ConfidentialMonth(Base):
    """Cases opened and closed per month: what admins see, with no link to any case."""

    __tablename__ = "confidential_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    opened: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)


class ConfidentialTry(Base):
    """Case codes typed by one account in the last hour (a keyed tag of the account, unlike
    any case's tag), so that codes cannot be guessed; forgotten after the hour."""

    __tablename__ = "confidential_tries"

    account_tag: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(Integer, default=0)


# --- The anonymous survey (issue 10; bot/services/survey.py says the rules) ---------------
# The response tables carry no member id, no Telegram id, no sequential id and no time, and
# on SQLite they are WITHOUT ROWID tables (stored in the order of their random key), so
# nothing lines a response up with the participation row written in the same transaction.
# That option lives in migration 0013 only: declared here (`sqlite_with_rowid`), it would
# load SQLAlchemy's SQLite dialect at import, also for PostgreSQL (idle memory is a target).


class Survey(Base):
    """An admin's survey: draft → open (members invited) → closed (results shown)."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(8), default="draft")  # draft | open | closed
    titles: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # per locale
    intros: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # per locale
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SurveyQuestion(Base):
    """One question: a 1-5 scale, a multiple choice (`options` per locale) or free text."""

    __tablename__ = "survey_questions"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # scale | choice | text
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    options: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)


class SurveyResponse(Base):
    """One anonymous response: a random id and the two grouping keys, nothing else."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_survey", "survey_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    region_code: Mapped[str | None] = mapped_column(String(32))  # as the member's, then
    role_group: Mapped[str] = mapped_column(String(12))  # member | sympathiser | active


class SurveyAnswer(Base):
    """One answer of a response: a number (scale 1-5, choice index) or a free text."""

    __tablename__ = "survey_answers"

    response_id: Mapped[str] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)


class SurveyParticipation(Base):
    """That someone answered: the survey and a keyed tag of their Telegram id (HMAC with
    CONFIDENTIAL_KEY), so one response per member; no link to the response, no time."""

    __tablename__ = "survey_participation"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)


_FINDABLE = {
    "postgresql_where": "findable IS TRUE AND unreachable_since IS NULL",
    "sqlite_where": "findable IS 1 AND unreachable_since IS NULL",
}
_TALENT = {
    "postgresql_where": "kind = 'talent' AND status = 'ok'",
    "sqlite_where": "kind = 'talent' AND status = 'ok'",
}


@cache
def talent_search_indexes() -> tuple[Index, ...]:
    """The partial indexes over what the talent search can find (migration 0014): a region's
    findable members in member order and by place, a skill's confirmed talents in member
    order. Declared on the tables only when asked (the test that models and migrations
    agree): their per-database predicates make SQLAlchemy load the PostgreSQL and SQLite
    dialects, 2 MiB and a tenth of a second at every start, also where neither is used."""
    members, skills = Member.__table__.c, MemberSkill.__table__.c
    findable = {k: text(v) for k, v in _FINDABLE.items()}
    talent = {k: text(v) for k, v in _TALENT.items()}
    return (
        Index("ix_members_found", members.region_code, members.id, members.latitude,
              members.longitude, **findable),
        Index("ix_members_found_at", members.region_code, members.latitude, members.longitude,
              members.id, **findable),
        Index("ix_member_skills_found", skills.skill_id, skills.member_id, skills.level,
              **talent),
    )  # fmt: skip


# Questions (issue 11): a member's question, its thread of messages, and where relayed copies
# of them lie in each chat. Core tables, not mapped classes: the repositories read and write
# them with Core, and a mapped class costs idle memory at every start (issue 8).
questions = Table(
    "questions",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("language", String(5), nullable=False),
    Column("region_code", String(32)),  # the member's, when asked: queue filter, escalation
    # What the volunteer sees of the member: "name" (first name), "anonymous" ("a member"),
    # "contact" (first name and @username: the member agreed to be contacted directly).
    Column("identity", String(10), nullable=False, default="name"),
    # suggested (a known answer shown, waiting for "did this help?") | helped (answered from
    # the knowledge base) | open (queued) | claimed | closed
    Column("state", String(10), nullable=False),
    Column("knowledge_id", String(64)),  # the entry shown (its entry_id), when one was
    Column("volunteer_id", BigInteger),  # Telegram id of whoever holds it (claimed)
    Column("claimed_how", String(10)),  # claim | rotation
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("queued_at", UTCDateTime),
    Column("claimed_at", UTCDateTime),
    Column("first_answer_at", UTCDateTime),
    Column("escalated_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("closed_by", String(10)),  # member | volunteer
    Column("rating", String(10)),  # helpful | unhelpful
    Column("card_message_id", Integer),  # its card in the linked volunteers' group, to edit
    Index("ix_questions_state_queued", "state", "queued_at"),
    Index("ix_questions_volunteer", "volunteer_id", "state"),
)

question_messages = Table(
    "question_messages",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "question_id",
        ForeignKey("questions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("author", String(10), nullable=False),  # member | volunteer | note (never relayed)
    Column("author_id", BigInteger),  # the volunteer's Telegram id (volunteer, note)
    Column("kind", String(10), nullable=False),  # text | photo | document
    Column("text", Text),  # the text, or the caption of a photo or file
    Column("file_id", String(255)),  # Telegram's id of the photo or file
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
)

# A relayed copy in someone's chat -> its question: a reply to it continues that thread.
question_routes = Table(
    "question_routes",
    Base.metadata,
    Column("chat_id", BigInteger, primary_key=True),
    Column("message_id", Integer, primary_key=True),
    Column(
        "question_id",
        ForeignKey("questions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

# Group chats an admin linked to a purpose ("volunteers": where new questions appear).
linked_chats = Table(
    "linked_chats",
    Base.metadata,
    Column("purpose", String(16), primary_key=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("title", String(128)),
    Column("linked_by", BigInteger),  # blanked when they are erased
    Column("linked_at", UTCDateTime, nullable=False, default=utcnow),
)

# The skills a learning track teaches (0016): what its completion notice names, and what a
# member who completed it and said yes to training others gets the level "teach" on.
track_skills = Table(
    "track_skills",
    Base.metadata,
    Column("track_id", ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)


# The knowledge base (bot/services/knowledge.py): a question and its answer in one language,
# one row per language; `entry_id` is shared by an entry's translations and is what
# questions.knowledge_id names. Seeded from bot/data/knowledge/*.csv (see the service).
knowledge_entries = Table(
    "knowledge_entries",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("language", String(5), nullable=False),
    Column("entry_id", String(64), nullable=False),
    Column("topic", String(32), nullable=False),
    Column("question", Text, nullable=False),
    Column("phrasings", Text, nullable=False),  # the other ways members put it, "|"-separated
    Column("answer", Text, nullable=False),
    Column("state", String(10), nullable=False),  # live | proposed | retired
    # Whose text it is: "bundled" (as shipped, refreshed by a newer release until someone
    # edits it), "organiser" (added or edited by an organiser), "volunteer" (a proposal).
    Column("origin", String(10), nullable=False),
    Column("proposed_by", BigInteger),  # the volunteer's Telegram id; blanked on erasure
    Column("edited_by", BigInteger),  # the organiser who last changed it; blanked on erasure
    Column("revision", Integer, nullable=False, default=1),  # +1 at every change: the cache
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    UniqueConstraint("language", "entry_id"),
)


# Welcome follow-up (issue 12): each new member assigned to a volunteer of their region, who
# marks them contacted (bot/services/welcome.py says the rules). One row per member: the
# member's "please do not contact me" is a row too (state "declined"), so no pass assigns them.
welcomes = Table(
    "welcomes",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "member_id",
        ForeignKey("members.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("region_code", String(32)),  # the member's, when noticed: rotation and overview
    Column("volunteer_id", BigInteger),  # Telegram id of the volunteer it is assigned to
    # waiting (no volunteer in the region) | open | contacted | unreached | declined
    Column("state", String(10), nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),  # the member's consent
    Column("assigned_at", UTCDateTime),
    Column("done_at", UTCDateTime),  # contacted, could not reach, or declined
    Index("ix_welcomes_volunteer", "volunteer_id", "state"),
    Index("ix_welcomes_state_joined", "state", "joined_at"),
)

# Goals an admin sets per region and year (bot/services/goals.py): counts, not people.
goals = Table(
    "goals",
    Base.metadata,
    Column("year", Integer, primary_key=True),
    Column(
        "region_code",
        String(32),
        ForeignKey("regions.code", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    Column("metric", String(16), primary_key=True),  # profiles | attended | trainers | welcomed
    Column("target", Integer, nullable=False),
    Column("set_at", UTCDateTime, nullable=False, default=utcnow),
)

# The welcome pass looks every minute for members who consented in the last N days (0018).
Index("ix_members_created_at", Member.__table__.c.created_at)


# Issue 12, from a gap to a workshop and project teams (bot/services/workshop_proposal.py,
# bot/services/teams.py). Core tables, as above.

# Members who said they are available for project teams (/projectteam): the row is the yes.
team_available = Table(
    "team_available",
    Base.metadata,
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("since", UTCDateTime, nullable=False, default=utcnow),
)

# An organiser asked a member, through the bot, to give a workshop on a wished-for skill.
workshop_proposals = Table(
    "workshop_proposals",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), nullable=False),
    Column("region_code", String(32)),
    Column("organiser_id", BigInteger),  # Telegram id; blanked when they are erased
    Column("trainer_id", ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True),
    # asked | accepted | declined | undelivered | planned
    Column("status", String(12), nullable=False),
    Column("workshop_id", ForeignKey("workshops.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("answered_at", UTCDateTime),
    Index("ix_workshop_proposals_organiser", "organiser_id", "created_at"),
)

# A project team an organiser asked for, and who is (or was) on it: one row per person and
# team (the primary key), so nobody is on a team twice, and a swapped-out member stays as
# "removed" so that they are not proposed again for it.
teams = Table(
    "teams",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("organiser_id", BigInteger),  # Telegram id; blanked when they are erased
    Column("topic", String(200), nullable=False),
    Column("size", Integer, nullable=False),
    Column("skill_ids", JSON, nullable=False),
    Column("regions", JSON),  # the organiser's scope when asked; null: every region
    Column("status", String(10), nullable=False),  # draft | invited
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
)

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    # proposed | removed | invited | yes | no | undelivered
    Column("status", String(12), nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("answered_at", UTCDateTime),
    Index("ix_team_members_member", "member_id", "status"),
)
