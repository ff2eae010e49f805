"""Chat with the bot in a terminal, as one of several personas, in plain text.

Bot messages are printed as they arrive, inline buttons as numbered choices and a reply
keyboard as lettered ones; the person types text, a number, a letter or a ``:command``.
Output is plain lines (no curses) so a session can be pasted into a transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import queue
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from sandbox.state import Alert, ChatEvent, ReplyButton, SandboxMessage
from sandbox.users import SandboxUser

LETTERS = "abcdefghijklmnopqrstuvwxyz"
DEFAULT_PLACE = (52.0907, 5.1214)  # Utrecht, for location buttons when a persona has none
HELP = """\
Type a message and press Enter to send it. Also:
  1, 2, …          press that button of the latest message with buttons
  a, b, …          tap that button of the keyboard shown under the input field
  :as NAME         continue as another persona (shows what they missed)
  :who             list the personas
  :loc LAT LON     share a location          :sticker   send a sticker
  :photo           send a photo              :file PATH send a file
  :text TEXT       send TEXT as is (e.g. a lone "1")
  :kb              show the current buttons and keyboard again
  :help            this help                 :quit      leave (also Ctrl-D, Ctrl-C)"""


class _LineReader:
    """Reads lines in a daemon thread, so a blocked input() never keeps the program alive."""

    def __init__(self, input_func: Callable[[str], str]) -> None:
        self._input = input_func
        self._requests: queue.Queue[
            tuple[str, asyncio.AbstractEventLoop, asyncio.Future[str | None]]
        ]
        self._requests = queue.Queue()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while True:
            prompt, loop, future = self._requests.get()
            try:
                line: str | None = self._input(prompt)
            except (EOFError, KeyboardInterrupt):
                line = None
            except BaseException as e:  # hand any other failure to the awaiting side
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_set_exception, future, e)
                continue
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_set_result, future, line)

    async def read(self, prompt: str) -> str | None:
        """The next line, or None at end of input."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-input", daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self._requests.put((prompt, loop, future))
        return await future


def _set_result(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


def _set_exception(future: asyncio.Future[str | None], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _indent(text: str, prefix: str) -> str:
    lines = text.splitlines() or [""]
    pad = " " * len(prefix)
    return "\n".join([prefix + lines[0], *(pad + line for line in lines[1:])])


def render_message(
    message: SandboxMessage, bot_name: str, *, kind: str = "new", previous: str | None = None
) -> list[str]:
    """A bot message (or edit, or deletion) as plain lines, buttons numbered from 1.

    An edit that only adds to a text already shown (a question closed with its answer) is
    shown as just the addition, so a long question is not printed twice.
    """
    if kind == "delete":
        return [f"({bot_name} deleted a message: {message.text[:40]!r})"]
    label = (
        f"{bot_name} (edited): "
        if kind == "edit" or (kind == "new" and message.edited)
        else f"{bot_name}: "
    )
    parts: list[str] = []
    if message.document is not None:
        name = message.document.filename or "file"
        parts.append(f"[file] {name} ({message.document.size} bytes)")
    if message.photo is not None:
        parts.append(f"[photo] {message.photo.width}x{message.photo.height}")
    if message.location is not None:
        parts.append(f"[location] {message.location[0]:.5f}, {message.location[1]:.5f}")
    if message.sticker is not None:
        parts.append(f"[sticker] {message.sticker}")
    text = message.text
    if kind == "edit" and previous and len(previous) > 60 and text.startswith(previous):
        text = "… " + text[len(previous) :].strip()
    if text:
        parts.append(text)
    lines = _indent("\n".join(parts) or "(empty)", label).splitlines()
    number = 1
    for row in message.inline_keyboard:
        cells = []
        for button in row:
            link = f" -> {button.url}" if button.url else ""
            cells.append(f"[{number}] {button.text}{link}")
            number += 1
        lines.append("  " + "  ".join(cells))
    return lines


def render_keyboard(rows: list[list[ReplyButton]] | None) -> str | None:
    """The reply keyboard line, ``(keyboard) [a] … [b] …``."""
    if not rows:
        return None
    buttons = [button for row in rows for button in row]
    cells = [f"[{LETTERS[i]}] {b.text}" for i, b in enumerate(buttons[: len(LETTERS)])]
    return "  (keyboard) " + "  ".join(cells)


class Terminal:
    """The REPL state: who is speaking, and what each persona has already been shown."""

    def __init__(
        self,
        personas: dict[str, SandboxUser],
        start: str,
        output: TextIO,
        *,
        settle: float = 0.3,
        echo: bool = False,
    ) -> None:
        if start not in personas:
            raise ValueError(f"unknown persona {start!r}; have {sorted(personas)}")
        self.personas = personas
        self.current = start
        self.output = output
        self.settle = settle
        self.echo = echo
        self.shown: dict[str, int] = dict.fromkeys(personas, 0)
        self.noticed: dict[str, int] = dict.fromkeys(personas, 0)
        self.sandbox = personas[start].sandbox
        self._shown_texts: dict[tuple[int, int], str] = {}

    # --- output ------------------------------------------------------------------------------

    def say(self, line: str = "") -> None:
        print(line, file=self.output, flush=True)

    def _bot_name(self) -> str:
        try:
            return self.sandbox.bot(self.personas[self.current]._token).first_name
        except LookupError:
            return "bot"

    def _events(self, name: str) -> list[ChatEvent]:
        state = self.personas[name]._state()
        return state.events if state is not None else []

    def _print_event(self, event: ChatEvent) -> None:
        if event.kind == "alert" and event.alert is not None:
            self._print_alert(event.alert)
            return
        if event.message is None:
            return
        key = (event.message.chat_id, event.message.message_id)
        previous = self._shown_texts.get(key)
        for line in render_message(
            event.message, self._bot_name(), kind=event.kind, previous=previous
        ):
            self.say(line)
        self._shown_texts[key] = event.message.text
        if event.kind == "new":
            if event.message.reply_keyboard:
                keyboard = render_keyboard(event.message.reply_keyboard)
                if keyboard:
                    self.say(keyboard)
            elif event.message.remove_keyboard:
                self.say("  (keyboard removed)")

    def _print_alert(self, alert: Alert) -> None:
        if alert.text:
            kind = "alert" if alert.show_alert else "notice"
            self.say(f"({kind}) {alert.text}")
        if alert.url:
            self.say(f"(open) {alert.url}")

    def flush(self) -> None:
        """Print what the current persona has not seen; a one-line nudge for the others."""
        events = self._events(self.current)
        for event in events[self.shown[self.current] :]:
            self._print_event(event)
        self.shown[self.current] = len(events)
        for name in self.personas:
            if name == self.current:
                continue
            events = self._events(name)
            waiting = sum(1 for e in events[self.shown[name] :] if e.kind in ("new", "edit"))
            if waiting and len(events) > self.noticed[name]:
                self.noticed[name] = len(events)
                self.say(f"({name} has {waiting} new message(s); :as {name} to read)")

    async def watch(self) -> None:
        """Print bot messages promptly, also while the person is typing."""
        while True:
            self.flush()
            await asyncio.sleep(0.05)

    def prompt(self) -> str:
        user = self.personas[self.current]
        return f"{self.current} ({user.label})> " if user.label else f"{self.current}> "

    # --- input -------------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False means leave."""
        text = line.strip()
        if not text:
            return True
        user = self.personas[self.current]
        if text.startswith(":"):
            return await self._meta(text)
        if text.isdigit() and await self._press_number(user, int(text)):
            return True
        if (
            len(text) == 1
            and text.lower() in LETTERS
            and await self._tap_letter(user, LETTERS.index(text.lower()))
        ):
            return True
        await user.send_text(line.rstrip("\n"))
        return True

    async def _press_number(self, user: SandboxUser, number: int) -> bool:
        message = next((m for m in reversed(user.bot_messages) if m.inline_keyboard), None)
        if message is None or not 1 <= number <= len(message.buttons):
            return False
        button = message.buttons[number - 1]
        if button.data is None:
            self.say(f"(link) {button.url}")
            return True
        await user.press(button.data, message=message)
        return True

    async def _tap_letter(self, user: SandboxUser, index: int) -> bool:
        rows = user.reply_keyboard
        buttons = [b for row in rows or [] for b in row]
        if index >= len(buttons):
            return False
        button = buttons[index]
        place = user.location or DEFAULT_PLACE
        if button.request_location:
            self.say(f"(sharing location {place[0]}, {place[1]})")
        await user.reply_button(button.text, location=place)
        return True

    async def _meta(self, text: str) -> bool:
        command, _, rest = text[1:].partition(" ")
        command, rest = command.lower(), rest.strip()
        user = self.personas[self.current]
        if command in ("quit", "q", "exit"):
            return False
        if command in ("help", "h", "?"):
            self.say(HELP)
        elif command == "who":
            for name, persona in self.personas.items():
                mark = "*" if name == self.current else " "
                label = f" ({persona.label})" if persona.label else ""
                self.say(f"{mark} {name}{label}: {persona.first_name}, id {persona.id}")
        elif command == "as":
            self._switch(rest)
        elif command == "loc":
            await self._location(user, rest)
        elif command == "sticker":
            await user.send_sticker()
        elif command == "photo":
            await user.send_photo()
        elif command == "file":
            await self._file(user, rest)
        elif command == "text":
            if rest:
                await user.send_text(rest)
        elif command == "kb":
            self._show_controls(user)
        else:
            self.say(f"(unknown command :{command}; :help lists them)")
        return True

    def _switch(self, name: str) -> None:
        if name not in self.personas:
            self.say(f"(no persona {name!r}; :who lists them)")
            return
        self.current = name
        user = self.personas[name]
        label = f" ({user.label})" if user.label else ""
        self.say(f"--- now chatting as {name}{label} ---")
        events = self._events(name)
        if self.shown[name] >= len(events):
            recent = user.bot_messages[-3:]
            for message in recent:
                for line in render_message(message, self._bot_name()):
                    self.say(line)
            if not recent:
                self.say("(no messages yet)")
        self.flush()

    async def _location(self, user: SandboxUser, rest: str) -> None:
        try:
            latitude, longitude = (float(x) for x in rest.replace(",", " ").split())
        except ValueError:
            self.say("(usage: :loc 52.09 5.12)")
            return
        await user.send_location(latitude, longitude)

    async def _file(self, user: SandboxUser, rest: str) -> None:
        path = Path(rest).expanduser()  # noqa: ASYNC240 - a local file, typed by a person
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as e:
            self.say(f"(cannot read {rest!r}: {e.strerror})")
            return
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        await user.send_document(path.name, data, mime)

    def _show_controls(self, user: SandboxUser) -> None:
        message = next((m for m in reversed(user.bot_messages) if m.inline_keyboard), None)
        if message is not None:
            for line in render_message(message, self._bot_name()):
                self.say(line)
        keyboard = render_keyboard(user.reply_keyboard)
        self.say(keyboard or "  (no keyboard)")

    async def settle_down(self) -> None:
        """Give the bot a moment to answer, so replies come before the next prompt."""
        with contextlib.suppress(TimeoutError):
            await self.sandbox.idle(quiet=self.settle, timeout=max(3.0, self.settle * 10))
        self.flush()


async def run_terminal(
    personas: dict[str, SandboxUser],
    *,
    start: str,
    input_func: Callable[[str], str] | None = None,
    output: TextIO = sys.stdout,
    settle: float = 0.3,
    echo: bool = False,
    handle_sigint: bool = True,
) -> None:
    """Chat in the terminal until ``:quit``, end of input or Ctrl-C.

    ``input_func(prompt)`` is called in a daemon thread (default: ``input``); a test passes
    a scripted one and sets ``echo`` to see the typed lines in ``output``. After each line
    the terminal waits until the sandbox is quiet for ``settle`` seconds, so the bot's replies
    are printed before the next prompt.
    """
    terminal = Terminal(personas, start, output, settle=settle, echo=echo)
    reader = _LineReader(input_func or input)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    sigint = False
    if handle_sigint:
        try:
            loop.add_signal_handler(signal.SIGINT, stop.set)
            sigint = True
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    watcher = asyncio.create_task(terminal.watch())
    stopper = asyncio.create_task(stop.wait())
    try:
        user = personas[start]
        label = f" ({user.label})" if user.label else ""
        terminal.say(f"Chatting with the bot as {start}{label}. Type :help for help.")
        terminal.flush()
        while True:
            prompt = terminal.prompt()
            reading = asyncio.ensure_future(reader.read(prompt))
            await asyncio.wait({reading, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                break
            line = reading.result()
            if line is None:
                break
            if echo:
                terminal.say(prompt + line)
            try:
                keep_going = await terminal.handle(line)
            except (AssertionError, LookupError, RuntimeError, ValueError) as e:
                terminal.say(f"(error) {e}")
                keep_going = True
            if not keep_going:
                break
            await terminal.settle_down()
        terminal.say("(bye)")
    finally:
        watcher.cancel()
        stopper.cancel()
        await asyncio.gather(watcher, stopper, return_exceptions=True)
        if sigint:
            loop.remove_signal_handler(signal.SIGINT)
