"""The guardrails gate's memory of clean scans: a key stands for one exact call of ``detect``."""

from indexgate.guardrails import memo

NAMES = ("email", "phone")


def test_a_key_changes_with_the_text_the_detectors_and_the_region():
    key = memo.scan_key("Backups run nightly.", NAMES, "US")
    assert key == memo.scan_key("Backups run nightly.", NAMES, "US") and len(key) == 16
    others = {memo.scan_key("Backups run nightly!", NAMES, "US"), memo.scan_key("Backups run nightly.", ("email",), "US"),
              memo.scan_key("Backups run nightly.", NAMES, "GB")}
    assert len(others) == 3 and key not in others


def test_keys_round_trip_and_a_missing_or_foreign_file_holds_none(tmp_path, monkeypatch):
    keys = {memo.scan_key(f"text {i}", NAMES, "US") for i in range(5)}
    assert memo.load_clean(tmp_path) == frozenset()  # no file: scan everything
    memo.save_clean(tmp_path, keys)
    assert memo.load_clean(tmp_path) == keys
    path = tmp_path / memo.MEMO_FILE
    path.write_bytes(path.read_bytes()[:-1])  # cut short: damaged
    assert memo.load_clean(tmp_path) == frozenset()
    memo.save_clean(tmp_path, keys)
    # Written by other detectors (another release, another phonenumbers): none of its keys count.
    monkeypatch.setattr(memo, "detectors_fingerprint", lambda: "another-release")
    assert memo.load_clean(tmp_path) == frozenset()
