"""Redaction keeps every chunk's offsets mapped to the original document."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexgate.guardrails.detectors import DETECTORS, Match, detect
from indexgate.guardrails.redaction import original_length, redact, to_redacted

VALUES = {
    "email": "jo.doe@example.com",
    "phone": "(415) 555-2671",
    "payment_card": "4111 1111 1111 1111",
    "ip_address": "192.168.1.10",
    "jwt": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz",
}
FILLER = st.text(alphabet=st.sampled_from(list("abc xyz.\n,")), max_size=12)


@st.composite
def documents(draw):
    """Text with findings at random places, glued by filler that never forms one."""
    parts = draw(st.lists(st.tuples(FILLER, st.sampled_from(sorted(VALUES))), max_size=6))
    return "".join(f" {filler} {VALUES[name]} " for filler, name in parts) + draw(FILLER)


def test_placeholders_replace_matches():
    text = "Mail jo.doe@example.com or call (415) 555-2671."
    red = redact(text, detect(text))
    assert red.text == "Mail [EMAIL] or call [PHONE]."
    assert "jo.doe" not in repr(red)


@settings(max_examples=300, deadline=None)
@given(documents(), st.data())
def test_any_span_maps_back_consistently(text, data):
    matches = detect(text)
    red = redact(text, matches)
    a = data.draw(st.integers(0, len(red.text)))
    b = data.draw(st.integers(a, len(red.text)))
    x, y = red.to_original(a, b)
    assert 0 <= x <= y <= len(text)
    inside = [r for r in red.replacements if r.start < b and a < r.end]
    if not inside:
        # Text outside placeholders is the original text, unchanged.
        assert red.text[a:b] == text[x:y]
    for r in inside:
        # A span touching a placeholder covers the whole original match.
        assert x <= r.orig_start and r.orig_end <= y


@settings(max_examples=200, deadline=None)
@given(documents())
def test_placeholder_spans_map_to_the_whole_match(text):
    matches = detect(text)
    red = redact(text, matches)
    assert len(red.replacements) == len(matches)
    for r, m in zip(red.replacements, matches):
        assert red.text[r.start:r.end] == DETECTORS[m.detector].placeholder
        assert red.to_original(r.start, r.end) == (m.start, m.end)
        assert text[r.orig_start:r.orig_end] == text[m.start:m.end]


@given(st.text(max_size=200))
def test_text_without_findings_maps_to_itself(text):
    red = redact(text, [])
    assert red.text == text
    assert red.to_original(0, len(text)) == (0, len(text))


def test_spans_outside_the_redacted_text_are_refused():
    with pytest.raises(ValueError, match="outside the redacted text"):
        redact("ab", []).to_original(0, 3)


def test_overlapping_matches_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        redact("abcdef", [Match("email", 0, 4), Match("email", 2, 5)])


@settings(max_examples=300, deadline=None)
@given(documents(), st.data())
def test_original_spans_map_into_the_redacted_text(text, data):
    """Golden spans (original offsets) land on the redacted text that chunks are cut from."""
    red = redact(text, detect(text))
    assert original_length(len(red.text), red.replacements) == len(text)
    x = data.draw(st.integers(0, len(text)))
    y = data.draw(st.integers(x, len(text)))
    a, b = to_redacted(red.replacements, x, y)
    assert 0 <= a <= b <= len(red.text)
    touched = [r for r in red.replacements if r.orig_start < y and x < r.orig_end]
    if not touched:
        assert red.text[a:b] == text[x:y]
    for r in touched:
        # A span touching a match covers its whole placeholder.
        assert a <= r.start and r.end <= b
    # And back: the original span is inside what the redacted span stands for.
    back = red.to_original(a, b)
    assert back[0] <= x and y <= back[1]


def test_to_redacted_shifts_text_after_a_placeholder():
    text = "Mail jo.doe@example.com now"
    red = redact(text, detect(text))
    assert red.text == "Mail [EMAIL] now"
    assert to_redacted(red.replacements, text.index("now"), len(text)) == (red.text.index("now"), len(red.text))
    assert to_redacted(red.replacements, 7, 9) == (5, 12)  # inside the address: the placeholder
