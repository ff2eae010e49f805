"""The fair lottery for an oversubscribed learning track: a committed seed, weighted towards
members who have had fewer places before, and reproducible by anyone.

Seed ``000_…`` says there is no such thing as a high-potential member: every member gets an
equal chance. So nobody is selected; places are drawn. The draw leans towards members who
have not had a place yet, so the same few do not collect every track.

Why nobody can game it: when the track is made, only the *commitment* ``SHA-256(seed)`` is
published; the seed stays secret until the draw and is revealed with the result. So before
the draw no member can compute anything (the seed has 128 bits: too many to find from the
commitment by trying), and the organiser cannot pick a favourable seed after seeing the
applicants (another seed would not match the commitment). And the draw does not depend on
member ids, which a member can change by re-registering: it depends on *ticket numbers*, the
applications numbered 1, 2, 3, … in the order they were made, which every observer can
reproduce. Anyone can re-run it (``ledenbot lottery verify TRACK SEED``).

The algorithm (version ``ledenbot-lottery-v2``), precise enough to re-implement anywhere:

0. Commitment: ``hex(SHA-256(UTF-8(seed)))``, published before applications open
   (``printf 'SEED' | sha256sum``).
1. Inputs: a non-empty seed string (no surrounding whitespace), the number of places
   (``>= 0``) and the tickets, each a distinct positive integer ``ticket`` with
   ``previous_places >= 0`` (places its member got in earlier tracks). The caller numbers the
   applications 1..n by application time, equal times by the order they were stored.
2. Each ticket's random number: ``d = SHA-256(UTF-8("ledenbot-lottery-v2:" + seed + ":"
   + decimal(ticket)))``; ``k`` = the first 52 bits of ``d`` (its first 8 bytes as a
   big-endian integer, shifted right by 12); ``u = (2k + 1) / 2**53``. So ``u`` is the
   midpoint of one of 2**52 equal cells of (0, 1): uniform, never 0 or 1, and exact in an
   IEEE double. Example: ``printf 'ledenbot-lottery-v2:SEED:7' | sha256sum``.
3. Weight ``w = 1 / (1 + previous_places)``; key ``= u ** (1 / w) = u ** (1 + previous_places)``
   (Efraimidis and Spirakis, "Weighted random sampling with a reservoir", 2006).
4. The draw order: keys from highest to lowest, compared exactly as rational numbers; equal
   keys (only possible when two 52-bit hashes collide) by ``ticket``, lowest first.
5. The first ``places`` in the draw order win; the rest are the waiting list in that order.

Why this is fair: sorting by ``u ** (1/w)`` gives exactly the same distribution as drawing
names one at a time from a hat, each remaining name with a chance proportional to its weight.
So for any single place, a member with one earlier place has half the chance of one with
none, and a member with two earlier places a third. The waiting list continues the same draw.

Why exact comparison: floating-point ``pow`` and ``log`` may differ in the last bit between
C libraries, and a verifier on another platform must get the same order. This module sorts by
the double ``(1 + p) * ln(u)`` (relative error below 1e-15), then re-sorts with exact
fractions any run of neighbours closer than 1e-12, so the result is the exact order above.
A re-implementation in floating point agrees unless two keys differ by less than about one
part in 10**15, which essentially never happens; a careful one compares such pairs exactly.

Plain Python: no database, no aiogram. The caller numbers the tickets and stores the result.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

__all__ = [
    "VERSION",
    "Applicant",
    "Draw",
    "Ticket",
    "commitment",
    "draw",
    "explain",
    "new_seed",
    "uniform",
    "weight",
]

#: Part of every hashed message, so a future algorithm can never silently reuse old seeds.
VERSION = "ledenbot-lottery-v2"
#: Bits of the hash that make ``u``; ``u = (2k + 1) / 2**53`` keeps it exact in a double.
_BITS = 52
_DENOMINATOR_BITS = _BITS + 1
#: Neighbours whose float keys are closer than this (relative) are re-ordered exactly.
_NEAR_TIE = 1e-12


def _is_int(value: object) -> bool:
    """An int that is not a bool: True as a ticket is a bug in the caller, not a ticket."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Applicant:
    """One ticket in the pot; ``previous_places`` counts places its member got earlier."""

    ticket: int
    previous_places: int = 0

    def __post_init__(self) -> None:
        if not _is_int(self.ticket) or self.ticket < 1:
            raise ValueError(f"ticket must be an int >= 1, not {self.ticket!r}")
        if not _is_int(self.previous_places):
            raise ValueError(f"previous_places must be an int, not {self.previous_places!r}")
        if self.previous_places < 0:
            raise ValueError(f"ticket {self.ticket}: previous_places must be >= 0")


@dataclass(frozen=True, slots=True)
class Draw:
    """The outcome, everything a verifier compares: winning tickets and the waiting list."""

    seed: str
    winners: tuple[int, ...]
    waiting: tuple[int, ...]

    def order(self) -> tuple[int, ...]:
        """The whole draw order: winners first, then the waiting list."""
        return self.winners + self.waiting


class Ticket(NamedTuple):
    """One ticket's numbers, for auditors who want to check each step by hand."""

    ticket: int
    weight: float
    key: float  # u ** (1 + previous_places); may round to 0.0 for very large exponents
    u: float
    previous_places: int


def weight(previous_places: int) -> float:
    """``1 / (1 + previous_places)``: one earlier place halves a member's chance per place,
    two make it a third; nobody ever drops to zero, so everyone keeps a chance."""
    if previous_places < 0:
        raise ValueError("previous_places must be >= 0")
    return 1.0 / (1 + previous_places)


def new_seed() -> str:
    """A fresh secret seed: 32 hex characters (128 bits) from ``secrets``. Its commitment is
    public, so the seed must be far too long to find from it by trying every candidate."""
    return secrets.token_hex(16)


def commitment(seed: str) -> str:
    """``hex(SHA-256(seed))``, published before the draw (step 0): it fixes the seed without
    revealing it, so nobody can choose another one once the applicants are known."""
    _check_seed(seed)
    return hashlib.sha256(seed.encode()).hexdigest()


def _numerator(seed: str, ticket: int) -> int:
    """The odd integer ``2k + 1`` with ``u = (2k + 1) / 2**53``, from SHA-256 (step 2)."""
    message = f"{VERSION}:{seed}:{ticket}".encode()
    k = int.from_bytes(hashlib.sha256(message).digest()[:8], "big") >> (64 - _BITS)
    return 2 * k + 1


def uniform(seed: str, ticket: int) -> float:
    """The ticket's random number ``u`` in (0, 1) for this seed, exactly as the draw uses it."""
    _check_seed(seed)
    return _numerator(seed, ticket) / 2**_DENOMINATOR_BITS


def draw(applicants: Iterable[Applicant], places: int, seed: str) -> Draw:
    """Draw ``places`` winning tickets; the rest wait in draw order. Same seed and tickets (in
    any order) give the same result on any machine, which is what makes it verifiable."""
    if not _is_int(places) or places < 0:
        raise ValueError(f"places must be an int >= 0, not {places!r}")
    order = tuple(applicant.ticket for applicant in _ordered(applicants, seed))
    return Draw(seed=seed, winners=order[:places], waiting=order[places:])


def explain(applicants: Iterable[Applicant], seed: str) -> list[Ticket]:
    """Every ticket's ``u``, weight and key, in draw order: the numbers behind a draw."""
    tickets = []
    for applicant in _ordered(applicants, seed):
        u = _numerator(seed, applicant.ticket) / 2**_DENOMINATOR_BITS
        p = applicant.previous_places
        tickets.append(Ticket(applicant.ticket, weight(p), u ** (1 + p), u, p))
    return tickets


def _check_seed(seed: str) -> None:
    """Reject seeds that cannot be verified reliably: empty, or with whitespace that a copy
    and paste would silently add or drop."""
    if not isinstance(seed, str) or not seed.strip():
        raise ValueError("the seed must be a non-empty string")
    if seed != seed.strip():
        raise ValueError("the seed must not start or end with whitespace")


def _ordered(applicants: Iterable[Applicant], seed: str) -> list[Applicant]:
    """All tickets in draw order (steps 2–4): a fast float sort, then exact near-ties."""
    _check_seed(seed)
    pot = list(applicants)
    seen: set[int] = set()
    for applicant in pot:
        if applicant.ticket in seen:
            raise ValueError(f"ticket {applicant.ticket} is in the pot twice")
        seen.add(applicant.ticket)
    scored = [(_float_key(seed, a), a) for a in pot]
    # Highest key first; the ticket only decides exact ties, so sorting on it here is harmless.
    scored.sort(key=lambda item: (-item[0], item[1].ticket))
    return [a for run in _near_tie_runs(scored) for a in _exact_order(run, seed)]


def _float_key(seed: str, applicant: Applicant) -> float:
    """``(1 + p) * ln(u)``: the logarithm of the key, ordered the same way and never 0.0."""
    u = _numerator(seed, applicant.ticket) / 2**_DENOMINATOR_BITS
    return (1 + applicant.previous_places) * math.log(u)


def _near_tie_runs(scored: list[tuple[float, Applicant]]) -> list[list[Applicant]]:
    """Split the float-sorted list into runs of neighbours too close for floats to order."""
    runs: list[list[Applicant]] = []
    previous = math.inf
    for key, applicant in scored:
        if runs and previous - key <= _NEAR_TIE * max(abs(previous), abs(key)):
            runs[-1].append(applicant)
        else:
            runs.append([applicant])
        previous = key
    return runs


def _exact_order(run: list[Applicant], seed: str) -> list[Applicant]:
    """Order a run by the exact key ``u ** (1 + p)`` as a fraction, then by ticket."""
    if len(run) == 1:
        return run

    def exact(applicant: Applicant) -> tuple[Fraction, int]:
        n = 1 + applicant.previous_places
        key = Fraction(_numerator(seed, applicant.ticket) ** n, 2 ** (_DENOMINATOR_BITS * n))
        return -key, applicant.ticket

    return sorted(run, key=exact)
