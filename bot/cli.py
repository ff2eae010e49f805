"""`ledenbot` command line: run, webhook, migrate, chat, workshops import|export, report."""

from __future__ import annotations

import bot.lean_code  # noqa: F401  before SQLAlchemy and aiogram: see its docstring

# isort: split
import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.settings import SANDBOX_TOKEN, Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.services import tracks as tracks_service

T = TypeVar("T")
log = logging.getLogger("ledenbot")


QUIET_LOGGERS = ("sqlalchemy", "aiosqlite", "asyncpg")


def _configure_logging(level: str, filename: str | None = None) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        filename=filename,
    )
    # aiogram logs every handled update at INFO; keep only ids (it logs no contents).
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    # SQLAlchemy and the drivers log statements with their parameters at INFO and DEBUG:
    # names, Telegram ids, and a confidential case's id right beside the member loaded for the
    # same update. Whatever the --log-level, they say no more than warnings.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _require_token(settings: Settings) -> None:
    if not settings.bot_token or ":" not in settings.bot_token:
        print(
            "ledenbot: BOT_TOKEN is not set (or not a token like 123456:ABC…).\n"
            "  Get one from @BotFather, or try the bot without Telegram: ledenbot chat --demo",
            file=sys.stderr,
        )
        raise SystemExit(2)


async def _run(settings: Settings) -> None:
    from bot.app import build_app

    app = await build_app(settings)
    app.settle()
    log.info("polling %s", settings.bot_api_url)
    try:
        await app.dp.start_polling(
            app.bot,
            allowed_updates=app.dp.resolve_used_update_types(),
            handle_signals=True,
            tasks_concurrency_limit=settings.concurrent_updates,
        )
    finally:
        await app.close()


def _require_webhook(settings: Settings) -> None:
    if not settings.webhook_url or not settings.webhook_secret:
        print(
            "ledenbot: webhook mode needs WEBHOOK_URL (the public https URL Telegram posts to)\n"
            "  and WEBHOOK_SECRET (so that nobody else can post updates to it).",
            file=sys.stderr,
        )
        raise SystemExit(2)


async def _webhook(settings: Settings) -> None:
    from bot import webhook
    from bot.app import build_app
    from bot.workers import until_signal

    app = await build_app(settings, migrate=False)  # run `ledenbot migrate` once, first
    app.settle()
    runner = await webhook.serve(app)
    log.info("webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
    try:
        await until_signal()
    finally:
        await runner.cleanup()  # lets the updates in hand finish
        log.info("webhook stopping; it handled %d updates", webhook.handled(runner))
        await app.close()


def _webhook_command(settings: Settings, args: argparse.Namespace) -> int:
    """One worker in this process, or a supervisor of N (PostgreSQL and Redis only)."""
    from bot import workers

    _require_webhook(settings)
    if args.worker is not None:  # started by the supervisor below
        asyncio.run(workers.run_worker(settings, args.worker))
        return 0
    count = args.workers if args.workers is not None else settings.webhook_workers
    refused = workers.refusal(settings, count)
    if refused:
        print(refused, file=sys.stderr)
        return 2
    if count == 1:
        asyncio.run(_webhook(settings))
        return 0
    return asyncio.run(workers.supervise(settings, count, args.log_level))


def _positive(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 32:
        raise argparse.ArgumentTypeError("between 1 and 32")
    return number


async def _migrate(settings: Settings) -> None:
    from storage.engine import create_engine
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("ledenbot: the database is up to date.")


async def _in_database(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one piece of work on an up-to-date schema with the default skills catalogue."""
    from bot.services import catalogue
    from storage.engine import create_engine, create_session_factory
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with create_session_factory(engine)() as session:
            await catalogue.ensure_defaults(session)
            return await work(session)
    finally:
        await engine.dispose()


def _workshops(settings: Settings, action: str, path: Path) -> int:
    """Import or export workshops as CSV; exit code 1 when nothing was imported."""
    from aiogram.utils.i18n import gettext as _
    from aiogram.utils.i18n import ngettext

    from bot.i18n import create_i18n
    from bot.services import roles, workshop_csv

    # The organiser reads the errors; migration chatter at INFO would bury them.
    logging.getLogger("alembic").setLevel(max(log.getEffectiveLevel(), logging.WARNING))
    i18n = create_i18n(settings.default_locale)
    with i18n.context(), i18n.use_locale(settings.default_locale):
        if action == "export":
            text = asyncio.run(
                _in_database(
                    settings, lambda s: workshop_csv.export_csv(s, settings.tz, roles.ALL_REGIONS)
                )
            )
            try:  # with a BOM, so that Excel reads the file as UTF-8
                path.write_text(text, encoding="utf-8-sig", newline="")
            except OSError as exc:
                print(f"ledenbot: cannot write {path}: {exc.strerror}", file=sys.stderr)
                return 1
            count = workshop_csv.count_rows(text)
            message = ngettext(
                "{count} workshop exported to {file}.",
                "{count} workshops exported to {file}.",
                count,
            )
            print(message.format(count=count, file=path))
            return 0
        try:
            with path.open("rb") as fh:  # one byte over the limit is enough to refuse it
                data = fh.read(workshop_csv.MAX_BYTES + 1)
        except OSError as exc:
            print(f"ledenbot: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return 1
        report = asyncio.run(
            _in_database(  # the operator's command line: every region, any member as trainer
                settings, lambda s: workshop_csv.import_csv(s, data, settings.tz, roles.OPERATOR)
            )
        )
        for error in report.errors:
            print(workshop_csv.describe(error), file=sys.stderr)
        if not report.created:
            print(_("Nothing was imported: correct the file and try again."), file=sys.stderr)
            return 1
        count = report.created
        print(
            ngettext("{count} workshop imported.", "{count} workshops imported.", count).format(
                count=count
            )
        )
        return 0


def _lottery_verify(settings: Settings, track_id: int, seed: str) -> int:
    """Check a revealed seed against the track's published commitment and re-run its draw;
    exit 0 only when both match, 1 with the reason otherwise."""
    from bot.services import tracks

    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        result = asyncio.run(_in_database(settings, lambda s: tracks.verify(s, track_id, seed)))
    except tracks.NotDrawnYet:
        print(f"ledenbot: track {track_id} does not exist or has not been drawn yet.")
        return 2
    except ValueError as exc:
        print(f"ledenbot: {exc}")
        return 2
    _print_verification(result)
    return 0 if result.ok else 1


def _print_verification(result: tracks_service.Verification) -> None:
    """The tickets in draw order, both outcomes, and for a failed check the reason."""
    print("tickets in draw order (ticket, member id, earlier places, u, key):")
    for line in result.tickets:
        print(
            f"  {line.ticket:>5} {line.member_id:>8} {line.previous_places:>3} "
            f"{line.u:.17f} {line.key:.17g}"
        )
    print(f"winners (member ids, in draw order): {' '.join(map(str, result.winners)) or '-'}")
    print(f"waiting list (in order): {' '.join(map(str, result.waiting)) or '-'}")
    if not result.commitment_ok:
        print(
            "commitment mismatch: the SHA-256 of this seed is not the published commitment "
            f"{result.published or '(none was published)'}."
        )
    if not result.draw_ok:
        print("draw mismatch: this seed does not give the stored places and waiting list.")
    if result.ok:
        print("commitment ok, draw ok")


def _tracks(settings: Settings, args: argparse.Namespace) -> int:
    """Create a learning track, or group workshops into one as its sessions."""
    from bot.services import tracks

    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.action == "create":
        draw_at = None
        if args.lottery:
            try:
                draw_at = datetime.strptime(args.lottery, "%Y-%m-%d %H:%M").replace(
                    tzinfo=settings.tz
                )
            except ValueError:
                print("ledenbot: --lottery takes a local date and time like '2027-01-10 12:00'")
                return 2

        async def create(session: AsyncSession) -> str:
            track = await tracks.create(
                session,
                title=args.title,
                places=args.places,
                lottery_at=draw_at,
                prerequisite_id=args.after,
                intake_question=args.intake,
            )
            if track.seed_commitment is None:
                return f"track {track.id} created"
            return (
                f"track {track.id} created; publish the lottery commitment (SHA-256 of the "
                f"secret seed, revealed at the draw): {track.seed_commitment}"
            )

        try:
            print(asyncio.run(_in_database(settings, create)))
        except tracks.TrackError:
            print("ledenbot: a track needs a title and zero or more places.")
            return 2
        return 0

    async def add(session: AsyncSession) -> str:
        for workshop_id in args.workshops:
            await tracks.add_session(session, args.track, workshop_id)
        return f"{len(args.workshops)} session(s) added to track {args.track}"

    try:
        print(asyncio.run(_in_database(settings, add)))
    except tracks.TrackGone:
        print("ledenbot: no such track or workshop.")
        return 2
    return 0


def _report(settings: Settings, region: str | None, out: Path) -> int:
    """The demand report of one region (or all) as a PNG and a CSV in `out`; exit 2 for an
    unknown region, 1 when the files cannot be written."""

    from bot import clock, report_chart
    from bot.i18n import create_i18n
    from bot.services import demand
    from bot.services import regions as region_list

    logging.getLogger("alembic").setLevel(logging.WARNING)
    locale = settings.default_locale

    async def make(session: AsyncSession) -> demand.Report | list[str]:
        configured = await region_list.configured(session)
        names = {r.code: r.name for r in configured}
        if region is not None and region not in names:
            return sorted(names)
        return await demand.build(session, region, clock.now(), names.get(region or ""))

    i18n = create_i18n(locale)
    with i18n.context(), i18n.use_locale(locale):
        made = asyncio.run(_in_database(settings, make))
        if isinstance(made, list):
            print(f"ledenbot: no region {region!r}; the regions are: {', '.join(made)}")
            return 2
        stem = out / report_chart.file_stem(made, settings.tz)
        png = report_chart.render(
            made.top, locale, report_chart.labels_for(made, locale, settings.tz)
        )
        try:
            out.mkdir(parents=True, exist_ok=True)
            stem.with_suffix(".png").write_bytes(png)
            stem.with_suffix(".csv").write_bytes(demand.csv_bytes(made, locale, settings.tz))
        except OSError as exc:
            print(f"ledenbot: cannot write to {out}: {exc.strerror}", file=sys.stderr)
            return 1
    print(f"{stem}.png")
    print(f"{stem}.csv")
    gaps = ", ".join(g.name(locale) for g in made.gaps) or "-"
    print(f"{len(made.skills)} skills, {len(made.gaps)} gaps: {gaps}")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ledenbot", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot by long polling (applies migrations first)")
    hook = sub.add_parser("webhook", help="run the bot behind a webhook (WEBHOOK_URL)")
    hook.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="worker processes sharing WEBHOOK_PORT (default WEBHOOK_WORKERS, 1); "
        "more than one needs PostgreSQL and REDIS_URL",
    )
    hook.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # one, under a supervisor
    sub.add_parser("migrate", help="bring the database schema up to date")
    chat = sub.add_parser("chat", help="chat with the bot in this terminal, no Telegram needed")
    chat.add_argument("--demo", action="store_true", help="seed sample members and roles")
    chat.add_argument(
        "--database-url",
        default="sqlite+aiosqlite:///ledenbot-sandbox.db",
        help="where the sandbox keeps its data (default: ledenbot-sandbox.db)",
    )
    chat.add_argument("--as", dest="persona", default="member", help="persona to start as")
    chat.add_argument("--lang", default=None, help="the member's Telegram language (nl, en, sv)")
    workshops = sub.add_parser("workshops", help="import or export workshops as CSV")
    actions = workshops.add_subparsers(dest="action", required=True)
    importing = actions.add_parser("import", help="add the workshops in a CSV file: all or none")
    importing.add_argument("file", type=Path, metavar="FILE.csv")
    exporting = actions.add_parser("export", help="write every workshop to a CSV file")
    exporting.add_argument("file", type=Path, metavar="FILE.csv")
    track_cmd = sub.add_parser("tracks", help="create learning tracks and add their sessions")
    track_actions = track_cmd.add_subparsers(dest="action", required=True)
    creating = track_actions.add_parser("create", help="a new learning track")
    creating.add_argument("--title", required=True)
    creating.add_argument("--places", type=int, required=True)
    creating.add_argument("--lottery", metavar="'YYYY-MM-DD HH:MM'", help="draw places then")
    creating.add_argument("--after", type=int, metavar="TRACK", help="the prerequisite track")
    creating.add_argument("--intake", metavar="QUESTION", help="asked when members apply")
    adding = track_actions.add_parser("add", help="make workshops sessions of a track")
    adding.add_argument("track", type=int, metavar="TRACK")
    adding.add_argument("workshops", type=int, nargs="+", metavar="WORKSHOP")
    lottery = sub.add_parser("lottery", help="check a learning track's lottery")
    checks = lottery.add_subparsers(dest="action", required=True)
    verify = checks.add_parser(
        "verify", help="check a revealed seed against the commitment and re-run the draw"
    )
    verify.add_argument("track", type=int, metavar="TRACK")
    verify.add_argument("seed", metavar="SEED")
    sub.add_parser(
        "confidential-key", help="print a new CONFIDENTIAL_KEY for the confidential path"
    )
    report = sub.add_parser("report", help="the demand vs supply report as a PNG and a CSV")
    report.add_argument("--region", help="a region code (default: the whole organisation)")
    report.add_argument("--out", type=Path, default=Path("."), metavar="DIR")
    args = parser.parse_args(argv)

    if args.command == "confidential-key":
        from bot.sealing import new_key

        print(new_key())
        return
    if args.command == "chat":
        from bot.chat import run_chat

        settings = load_settings(
            bot_token=SANDBOX_TOKEN, database_url=args.database_url, redis_url=None
        )
        _configure_logging(args.log_level, filename="ledenbot-sandbox.log")
        asyncio.run(run_chat(settings, demo=args.demo, persona=args.persona, lang=args.lang))
        return

    settings = load_settings()
    _configure_logging(args.log_level)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "run":
        _require_token(settings)
        asyncio.run(_run(settings))
    elif args.command == "webhook":
        _require_token(settings)
        raise SystemExit(_webhook_command(settings, args))
    elif args.command == "workshops":
        raise SystemExit(_workshops(settings, args.action, args.file))
    elif args.command == "tracks":
        raise SystemExit(_tracks(settings, args))
    elif args.command == "lottery":
        raise SystemExit(_lottery_verify(settings, args.track, args.seed))
    elif args.command == "report":
        raise SystemExit(_report(settings, args.region, args.out))


if __name__ == "__main__":
    main()
