"""Scoring two names, and adjusting a name score with date of birth and nationality.

A name score (0 to 1) comes from aligning tokens, so token order does not matter:
- every query token is paired with at most one candidate token, best pairs first;
- a pair's similarity is the better of the plain spellings and the phonetic keys, compared with
  the optimal-string-alignment distance (a transposition counts as one typo); tokens written in
  Arabic script are compared by consonant skeleton; an initial agrees with any token that starts
  with its letter;
- a similarity is turned into evidence on a ramp from ``pair_floor`` (no evidence) to 1, so
  ``Rashad``/``Rashid`` counts for little while ``Mammadov``/``Mamadvo`` still counts;
- tokens left without a partner lower the score: a little when only one side has them (a middle
  name or patronymic missing from the other side), fully when both sides do (different first names);
- a single agreeing token between multi-token names is weak evidence on its own.
Names whose tokens are split or merged differently (``Abdulla``/``Abd Allah``) are also compared
as one string, and the better score counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import OSA, JaroWinkler

from compliance.screening.model import DateOfBirth
from compliance.screening.normalise import NameToken, NormalisedName, TokenRole

__all__ = ["MatcherConfig", "evidence_adjustment", "name_score", "token_similarity"]


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    """The knobs of name scoring; the defaults are the tuned ones (see docs/compliance.md)."""

    pair_floor: float = 0.62
    """Token similarity below which a pair carries no evidence (and is not paired at all)."""
    evidence_power: float = 1.0
    """Shape of the ramp from ``pair_floor`` to 1 (below 1: gentler on one-letter differences)."""
    key_discount: float = 0.97
    """Similarity of phonetic keys counts slightly less than similarity of spellings."""
    abjad_discount: float = 0.93
    """Skeleton comparisons (Arabic script) lose vowels, so they count for less."""
    initial_similarity: float = 0.85
    """Similarity of an initial and a token starting with that letter."""
    missing_weight: float = 0.25
    """Share of a token's weight charged when only one side has unpaired tokens."""
    missing_patronymic_weight: float = 0.1
    """The same for a patronymic: documents often leave it out."""
    patronymic_weight: float = 0.6
    """Weight of a patronymic relative to a given or family name."""
    initial_weight: float = 0.5
    """Weight of an initial relative to a given or family name."""
    single_token_factor: float = 0.75
    """Multiplier when only one token agrees between names of several tokens."""
    joined_discount: float = 0.93
    """Whole-string comparison (split/merged tokens) counts for a little less than token alignment."""
    dob_exact_bonus: float = 0.06
    """Added when the date of birth agrees to the day."""
    dob_year_bonus: float = 0.03
    """Added when the year of birth agrees (the list gives no day, or a range)."""
    dob_near_penalty: float = 0.04
    """Subtracted when the year of birth is one off (approximate dates on lists)."""
    dob_conflict_penalty: float = 0.15
    """Subtracted when the dates of birth clearly disagree."""
    nationality_bonus: float = 0.02
    """Added when the nationality agrees."""
    nationality_penalty: float = 0.05
    """Subtracted when both nationalities are known and disagree."""


DEFAULT_CONFIG = MatcherConfig()


def token_similarity(a: NameToken, b: NameToken, config: MatcherConfig = DEFAULT_CONFIG) -> float:
    """How alike two tokens are, 0 to 1."""
    if a.role is TokenRole.INITIAL or b.role is TokenRole.INITIAL:
        if a.role is b.role:
            return 1.0 if a.text == b.text else 0.0
        return config.initial_similarity if a.text[0] == b.text[0] or a.key[0] == b.key[0] else 0.0
    if a.text == b.text:
        return 1.0
    if a.abjad != b.abjad:
        # One side lacks its short vowels: compare consonants, and trust that a little less.
        if min(len(a.skeleton), len(b.skeleton)) <= 1:
            return config.abjad_discount if a.skeleton == b.skeleton else 0.0
        return config.abjad_discount * OSA.normalized_similarity(a.skeleton, b.skeleton)
    plain = _similarity(a.text, b.text)
    keyed = 1.0 if a.key == b.key else _similarity(a.key, b.key)
    if a.stem_key != a.key or b.stem_key != b.key:
        # "Hasanovich" against "Hasan oglu": compare the fathers' names.
        stems = 1.0 if a.stem_key == b.stem_key else _similarity(a.stem_key, b.stem_key)
        keyed = max(keyed, stems)
    return max(plain, config.key_discount * keyed)


def _similarity(a: str, b: str) -> float:
    """OSA similarity, with Jaro-Winkler's credit for a shared start when the strings are long."""
    osa = OSA.normalized_similarity(a, b)
    if min(len(a), len(b)) < 6:
        return osa
    return (2 * osa + JaroWinkler.normalized_similarity(a, b)) / 3


def _weight(token: NameToken, config: MatcherConfig) -> float:
    if token.role is TokenRole.PATRONYMIC:
        return config.patronymic_weight
    if token.role is TokenRole.INITIAL:
        return config.initial_weight
    return 1.0


def name_score(
    query: NormalisedName, candidate: NormalisedName, config: MatcherConfig = DEFAULT_CONFIG
) -> float:
    """How alike two names are, 0 to 1, whatever their token order."""
    if query.is_empty or candidate.is_empty:
        return 0.0
    aligned = _aligned_score(query, candidate, config)
    if aligned >= 0.99 or len(query.tokens) == len(candidate.tokens):
        # Only names with different token counts can be the same name split or merged differently.
        return aligned
    return max(aligned, _joined_score(query, candidate, config))


def _aligned_score(query: NormalisedName, candidate: NormalisedName, config: MatcherConfig) -> float:
    q_tokens, c_tokens = query.tokens, candidate.tokens
    pairs: list[tuple[float, int, int]] = []
    for i, q in enumerate(q_tokens):
        for j, c in enumerate(c_tokens):
            similarity = token_similarity(q, c, config)
            if similarity > config.pair_floor:
                pairs.append((similarity, i, j))
    pairs.sort(reverse=True)
    used_q: set[int] = set()
    used_c: set[int] = set()
    evidence = 0.0
    charged = 0.0
    full_pairs = 0
    ramp = 1.0 - config.pair_floor
    for similarity, i, j in pairs:
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        weight = (_weight(q_tokens[i], config) + _weight(c_tokens[j], config)) / 2
        evidence += weight * ((similarity - config.pair_floor) / ramp) ** config.evidence_power
        charged += weight
        full_pairs += 1
    if not used_q:
        return 0.0
    spare_q = [t for i, t in enumerate(q_tokens) if i not in used_q]
    spare_c = [t for j, t in enumerate(c_tokens) if j not in used_c]
    conflict = bool(spare_q and spare_c)
    for token in spare_q + spare_c:
        if conflict:
            share = 1.0
        elif token.role is TokenRole.PATRONYMIC:
            share = config.missing_patronymic_weight
        else:
            share = config.missing_weight
        charged += share * _weight(token, config)
    score = evidence / charged
    if full_pairs <= 1 and max(len(q_tokens), len(c_tokens)) > 1:
        score *= config.single_token_factor
    return score


def _joined_score(query: NormalisedName, candidate: NormalisedName, config: MatcherConfig) -> float:
    if any(t.abjad for t in query.tokens) != any(t.abjad for t in candidate.tokens):
        a, b = query.joined_skeleton, candidate.joined_skeleton
        discount = config.joined_discount * config.abjad_discount
    else:
        a, b = query.joined_key, candidate.joined_key
        discount = config.joined_discount
    if len(a) < 4 or len(b) < 4:
        return 0.0
    similarity = OSA.normalized_similarity(a, b)
    if similarity <= config.pair_floor:
        return 0.0
    return discount * (similarity - config.pair_floor) / (1.0 - config.pair_floor)


def evidence_adjustment(
    subject_dob: date | None,
    subject_nationality: str | None,
    entry_dobs: tuple[DateOfBirth, ...],
    entry_nationalities: tuple[str, ...],
    config: MatcherConfig = DEFAULT_CONFIG,
) -> tuple[float, tuple[str, ...]]:
    """Points to add to a name score from date of birth and nationality, with the reasons."""
    delta = 0.0
    reasons: list[str] = []
    if subject_dob is not None and entry_dobs:
        agreement = max((dob.agreement(subject_dob) for dob in entry_dobs), key=_AGREEMENT_ORDER.index)
        delta += {
            "exact": config.dob_exact_bonus,
            "year": config.dob_year_bonus,
            "near": -config.dob_near_penalty,
            "conflict": -config.dob_conflict_penalty,
        }[agreement]
        reasons.append(f"date_of_birth_{agreement}")
    if subject_nationality and entry_nationalities:
        if subject_nationality in entry_nationalities:
            delta += config.nationality_bonus
            reasons.append("nationality_agrees")
        else:
            delta -= config.nationality_penalty
            reasons.append("nationality_differs")
    return delta, tuple(reasons)


_AGREEMENT_ORDER = ["conflict", "near", "year", "exact"]
