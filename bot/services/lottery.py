"""The fair lottery for an oversubscribed learning track: a published seed, weighted towards
members who have had fewer places before, and reproducible by anyone.

Seed ``000_…`` says there is no such thing as a high-potential member: every member gets an
equal chance. So nobody is selected; places are drawn. The draw leans towards members who
have not had a place yet, so the same few do not collect every track. The seed is published
before the draw, and the result depends only on the seed and on the set of applicants, so
any member, organiser or outsider can re-run it (``ledenbot lottery verify TRACK SEED``).

The algorithm (version ``ledenbot-lottery-v1``), precise enough to re-implement anywhere:

1. Inputs: a non-empty seed string (no surrounding whitespace), the number of places
   (``>= 0``) and the applicants, each a distinct integer ``member_id`` with
   ``previous_places >= 0`` (places they got in earlier tracks).
2. Each applicant's random number: ``d = SHA-256(UTF-8("ledenbot-lottery-v1:" + seed + ":"
   + decimal(member_id)))``; ``k`` = the first 52 bits of ``d`` (its first 8 bytes as a
   big-endian integer, shifted right by 12); ``u = (2k + 1) / 2**53``. So ``u`` is the
   midpoint of one of 2**52 equal cells of (0, 1): uniform, never 0 or 1, and exact in an
   IEEE double. Example: ``printf 'ledenbot-lottery-v1:SEED:42' | sha256sum``.
3. Weight ``w = 1 / (1 + previous_places)``; key ``= u ** (1 / w) = u ** (1 + previous_places)``
   (Efraimidis and Spirakis, "Weighted random sampling with a reservoir", 2006).
4. The draw order: keys from highest to lowest, compared exactly as rational numbers; equal
   keys (only possible when two 52-bit hashes collide) by ``member_id``, lowest first.
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

Plain Python: no database, no aiogram. The caller loads the applicants and stores the result.
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
    "draw",
    "explain",
    "new_seed",
    "uniform",
    "weight",
]

#: Part of every hashed message, so a future algorithm can never silently reuse old seeds.
VERSION = "ledenbot-lottery-v1"
#: Bits of the hash that make ``u``; ``u = (2k + 1) / 2**53`` keeps it exact in a double.
_BITS = 52
_DENOMINATOR_BITS = _BITS + 1
#: Neighbours whose float keys are closer than this (relative) are re-ordered exactly.
_NEAR_TIE = 1e-12


@dataclass(frozen=True, slots=True)
class Applicant:
    """One member in the pot; ``previous_places`` counts places they got in earlier tracks."""

    member_id: int
    previous_places: int = 0

    def __post_init__(self) -> None:
        # bool is an int, but True as a member id is a bug in the caller, not an applicant.
        if not isinstance(self.member_id, int) or isinstance(self.member_id, bool):
            raise ValueError(f"member_id must be an int, not {self.member_id!r}")
        if not isinstance(self.previous_places, int) or isinstance(self.previous_places, bool):
            raise ValueError(f"previous_places must be an int, not {self.previous_places!r}")
        if self.previous_places < 0:
            raise ValueError(f"member {self.member_id}: previous_places must be >= 0")


@dataclass(frozen=True, slots=True)
class Draw:
    """The outcome, everything a verifier compares: winners and the waiting list, in order."""

    seed: str
    winners: tuple[int, ...]
    waiting: tuple[int, ...]

    def order(self) -> tuple[int, ...]:
        """The whole draw order: winners first, then the waiting list."""
        return self.winners + self.waiting


class Ticket(NamedTuple):
    """One applicant's numbers, for auditors who want to check each step by hand."""

    member_id: int
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
    """A fresh seed to publish before the draw: 16 hex characters (64 bits) from ``secrets``,
    short enough to read aloud, too many to pick a favourable one by trying."""
    return secrets.token_hex(8)


def _numerator(seed: str, member_id: int) -> int:
    """The odd integer ``2k + 1`` with ``u = (2k + 1) / 2**53``, from SHA-256 (step 2)."""
    message = f"{VERSION}:{seed}:{member_id}".encode()
    k = int.from_bytes(hashlib.sha256(message).digest()[:8], "big") >> (64 - _BITS)
    return 2 * k + 1


def uniform(seed: str, member_id: int) -> float:
    """The member's random number ``u`` in (0, 1) for this seed, exactly as the draw uses it."""
    _check_seed(seed)
    return _numerator(seed, member_id) / 2**_DENOMINATOR_BITS


def draw(applicants: Iterable[Applicant], places: int, seed: str) -> Draw:
    """Draw ``places`` winners; the rest wait in draw order. Same seed and applicants (in any
    order) give the same result on any machine, which is what makes it verifiable."""
    if not isinstance(places, int) or isinstance(places, bool) or places < 0:
        raise ValueError(f"places must be an int >= 0, not {places!r}")
    order = _ordered(applicants, seed)
    ids = tuple(applicant.member_id for applicant in order)
    return Draw(seed=seed, winners=ids[:places], waiting=ids[places:])


def explain(applicants: Iterable[Applicant], seed: str) -> list[Ticket]:
    """Every applicant's ``u``, weight and key, in draw order: the numbers behind a draw."""
    tickets = []
    for applicant in _ordered(applicants, seed):
        u = _numerator(seed, applicant.member_id) / 2**_DENOMINATOR_BITS
        p = applicant.previous_places
        tickets.append(Ticket(applicant.member_id, weight(p), u ** (1 + p), u, p))
    return tickets


def _check_seed(seed: str) -> None:
    """Reject seeds that cannot be verified reliably: empty, or with whitespace that a copy
    and paste would silently add or drop."""
    if not isinstance(seed, str) or not seed.strip():
        raise ValueError("the seed must be a non-empty string")
    if seed != seed.strip():
        raise ValueError("the seed must not start or end with whitespace")


def _ordered(applicants: Iterable[Applicant], seed: str) -> list[Applicant]:
    """All applicants in draw order (steps 2–4): a fast float sort, then exact near-ties."""
    _check_seed(seed)
    pot = list(applicants)
    seen: set[int] = set()
    for applicant in pot:
        if applicant.member_id in seen:
            raise ValueError(f"member {applicant.member_id} applied twice")
        seen.add(applicant.member_id)
    scored = [(_float_key(seed, a), a) for a in pot]
    # Highest key first; member_id only decides exact ties, so sorting on it here is harmless.
    scored.sort(key=lambda item: (-item[0], item[1].member_id))
    return [a for run in _near_tie_runs(scored) for a in _exact_order(run, seed)]


def _float_key(seed: str, applicant: Applicant) -> float:
    """``(1 + p) * ln(u)``: the logarithm of the key, ordered the same way and never 0.0."""
    u = _numerator(seed, applicant.member_id) / 2**_DENOMINATOR_BITS
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
    """Order a run by the exact key ``u ** (1 + p)`` as a fraction, then by member_id."""
    if len(run) == 1:
        return run

    def exact(applicant: Applicant) -> tuple[Fraction, int]:
        n = 1 + applicant.previous_places
        key = Fraction(_numerator(seed, applicant.member_id) ** n, 2 ** (_DENOMINATOR_BITS * n))
        return -key, applicant.member_id

    return sorted(run, key=exact)
