"""Feedback after a workshop: attendees rate it 1-5 and may add a comment; organisers see
the average and the comments (without names, so people say what they think).

Asking is claimed per sign-up with a conditional UPDATE, like reminders: each attendee is
asked once, whatever the number of workers or restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feedback, Member, Signup, Workshop
from storage.repositories import signups as signup_repo

ASK_WITHIN = timedelta(days=3)  # after that, asking would feel out of the blue
MAX_COMMENT = 1000


class FeedbackError(Exception):
    pass


class NotAttended(FeedbackError):
    """Only people who were there can rate a workshop."""


class BadRating(FeedbackError):
    pass


@dataclass(frozen=True, slots=True)
class Ask:
    signup_id: int
    member_id: int
    telegram_id: int
    locale: str
    workshop_id: int
    title: str


async def claim_due(session: AsyncSession, now: datetime, limit: int = 200) -> list[Ask]:
    """Attendees of workshops that ended (recently) and were not asked yet; claimed once."""
    rows = (
        await session.execute(
            select(
                Signup.id, Member.id, Member.telegram_id, Member.locale, Workshop.id, Workshop.title
            )
            .join(Workshop, Workshop.id == Signup.workshop_id)
            .join(Member, Member.id == Signup.member_id)
            .where(
                Signup.status == "confirmed",
                Signup.checked_in_at.is_not(None),
                Signup.feedback_asked_at.is_(None),
                Workshop.ends_at <= now,
                Workshop.ends_at > now - ASK_WITHIN,
                Member.unreachable_since.is_(None),
            )
            .order_by(Signup.id)
            .limit(limit)
        )
    ).all()
    claimed = []
    for signup_id, member_id, telegram_id, locale, workshop_id, title in rows:
        result = await session.execute(
            update(Signup)
            .where(Signup.id == signup_id, Signup.feedback_asked_at.is_(None))
            .values(feedback_asked_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            claimed.append(Ask(signup_id, member_id, telegram_id, locale, workshop_id, title))
    await session.commit()
    return claimed


async def rate(session: AsyncSession, member: Member, workshop_id: int, rating: int) -> Feedback:
    """Record (or change) a rating, only from someone who checked in."""
    if not 1 <= rating <= 5:
        raise BadRating(rating)
    signup = await signup_repo.of_member(session, workshop_id, member.id)
    if signup is None or signup.checked_in_at is None:
        raise NotAttended(workshop_id)
    existing = await _mine(session, member.id, workshop_id)
    if existing is not None:
        existing.rating = rating
        await session.commit()
        return existing
    feedback = Feedback(workshop_id=workshop_id, member_id=member.id, rating=rating)
    session.add(feedback)
    try:
        await session.commit()
    except IntegrityError:  # a second tap at the same moment
        await session.rollback()
        await session.refresh(member)
        found = await _mine(session, member.id, workshop_id)
        assert found is not None
        return found
    return feedback


async def comment(session: AsyncSession, member: Member, workshop_id: int, text: str) -> None:
    feedback = await _mine(session, member.id, workshop_id)
    if feedback is None:
        raise NotAttended(workshop_id)
    feedback.comment = " ".join(text.split())[:MAX_COMMENT] or None
    await session.commit()


async def _mine(session: AsyncSession, member_id: int, workshop_id: int) -> Feedback | None:
    return await session.scalar(
        select(Feedback).where(Feedback.workshop_id == workshop_id, Feedback.member_id == member_id)
    )


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    average: float | None
    comments: list[str]


async def summary(session: AsyncSession, workshop_id: int) -> Summary:
    count, average = (
        await session.execute(
            select(func.count(), func.avg(Feedback.rating)).where(
                Feedback.workshop_id == workshop_id
            )
        )
    ).one()
    comments = list(
        await session.scalars(
            select(Feedback.comment)
            .where(Feedback.workshop_id == workshop_id, Feedback.comment.is_not(None))
            .order_by(Feedback.id)
        )
    )
    return Summary(int(count), float(average) if average is not None else None, comments)
