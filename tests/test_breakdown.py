"""kanjiedge.breakdown: script classes, cross-script look-alikes reported as such, per-script accuracy."""

from kanjiedge import breakdown


def test_script_of():
    assert [breakdown.script_of(c) for c in "あゃゞアッー亜々𠀀A1゛、"] == [
        "hiragana", "hiragana", "hiragana", "katakana", "katakana", "katakana", "kanji", "kanji", "kanji",
        "other", "other", "other", "other"]


def test_issue_lookalikes_cross_scripts():
    for a, b in ("へヘ", "カ力", "エ工", "ロ口", "ニ二", "ハ八", "タ夕"):
        assert breakdown.lookalike(a, b) and breakdown.lookalike(b, a)
        assert breakdown.script_of(a) != breakdown.script_of(b)
    assert not breakdown.lookalike("ば", "ぱ") and not breakdown.lookalike("へ", "八")


def test_summarize_counts_lookalikes_separately():
    truth = list("へへへカカ亜亜A")
    pred = list("へヘ八力カ亜唖A")
    s = breakdown.summarize(truth, pred)
    assert s["scripts"]["hiragana"] == {"n": 3, "top1": 1 / 3, "lookalike_errors": 1}
    assert s["scripts"]["katakana"] == {"n": 2, "top1": 0.5, "lookalike_errors": 1}
    assert s["scripts"]["kanji"]["top1"] == 0.5 and s["scripts"]["other"]["top1"] == 1.0
    assert s["lookalike_errors"] == 2 and s["top1_lookalike_forgiven"] == 6 / 8
    assert ["へ", "ヘ", 1, True] in s["confused"] and ["へ", "八", 1, False] in s["confused"]
    assert "(look-alike)" in breakdown.confused_text(s["confused"])
    assert "cross-script look-alike errors 2" in breakdown.script_line(s)
