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
    keys = [memo.scan_key(f"text {i}", NAMES, "US") for i in range(50)] + [bytes(15) + b"\x01", bytes(16)]
    new = memo.NewKeys()
    for key in keys + keys[:3]:  # a text stored twice gives its key twice
        new.add(key)
    assert len(memo.load_clean(tmp_path)) == 0  # no file: scan everything
    memo.save_clean(tmp_path, new)
    loaded = memo.load_clean(tmp_path)
    assert len(loaded) == len(keys) and all(key in loaded for key in keys)
    assert memo.scan_key("text 50", NAMES, "US") not in loaded and bytes(15) + b"\x02" not in loaded
    path = tmp_path / memo.MEMO_FILE
    path.write_bytes(path.read_bytes()[:-1])  # cut short: damaged
    assert len(memo.load_clean(tmp_path)) == 0
    memo.save_clean(tmp_path, new)
    # Written by other detectors (another release, another phonenumbers): none of its keys count.
    monkeypatch.setattr(memo, "detectors_fingerprint", lambda: "another-release")
    assert len(memo.load_clean(tmp_path)) == 0
