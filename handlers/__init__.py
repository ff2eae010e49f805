"""aiogram Routers, one module per feature; order matters: commands before free text."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    attendance,
    broadcasts,
    catalogue,
    confidential,
    counsellor,
    errors,
    fallback,
    feedback,
    goals,
    help,
    knowledge_admin,
    language,
    membership,
    onboarding,
    privacy,
    profile,
    proposals,
    question_report,
    questions,
    report,
    start,
    survey,
    talent,
    teams,
    tracks,
    volunteers,
    welcome,
    workshop_admin,
    workshop_import,
    workshop_new,
    workshops,
)

# Buttons whose handlers read the member themselves (see bot/middlewares/member.py).
SELF_SERVED = (workshops.SignupCb.__prefix__,)


def root_router() -> Router:
    root = Router(name="root")
    root.include_routers(
        errors.build_router(),
        workshops.build_signup_router(),  # the hot path: see its docstring
        membership.build_router(),
        start.build_router(),
        counsellor.build_router(),  # replies to relayed messages, before free text
        volunteers.build_router(),  # questions: the group's Claim, threads, replies
        confidential.build_router(),
        help.build_router(),
        language.build_router(),
        admin.build_router(),
        talent.build_router(),
        report.build_router(),
        proposals.build_router(),
        teams.build_router(),
        feedback.build_router(),
        tracks.build_router(),
        catalogue.build_router(),
        privacy.build_router(),
        profile.build_router(),
        workshops.build_router(),
        workshop_admin.build_router(),
        attendance.build_router(),
        survey.build_router(),  # the survey: before the CSV import (a survey file in its state)
        knowledge_admin.build_router(),  # its file and texts: before the workshop import
        workshop_import.build_router(),
        workshop_new.build_router(),
        question_report.build_router(),
        questions.build_router(),  # the member's questions: before a draft's and free text
        welcome.build_router(),  # issue 12: welcome follow-up
        goals.build_router(),  # issue 12: goals
        broadcasts.build_router(),  # after the others: their commands win over a draft's text
        onboarding.build_router(),
        fallback.build_router(),
    )
    return root
