"""Recall-leaning safety layer (voicebot.nlu.safety) and its hooks in voicebot.nlu.zh and voicebot.nlu.en."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from voicebot.nlu import understand
from voicebot.nlu.en import normalise as en_normalise
from voicebot.nlu.safety import SafetyVerdict, assess, blank_idioms
from voicebot.nlu.scoring import load_jsonl, score_lines
from voicebot.nlu.zh import normalise

TODAY = date(2026, 11, 28)
OWN = Path(__file__).parent / "data"


def _zh(text: str):  # type: ignore[no-untyped-def]
    return assess(normalise(text), "zh")


@pytest.mark.parametrize(("text", "cue"), [
    ("我 早就 想 好 怎么 死", "wish_to_die"),
    ("我 估计 也 活 不 久 了", "short_life"),
    ("我 这样 活着 图 什么", "no_point_living"),
    ("没 有 我 家里 人 过得 更 好", "better_without_me"),
    ("我 就是 个 包袱", "burden"),
    ("我 真想 就此 消失", "disappear"),
    ("安眠药 我 已经 攒 够 了", "medicine_stockpile"),
    ("我 现在 在 楼顶", "height"),
    ("我 打算 去 湖边 了", "water_plan"),
    ("要是 能 一觉 睡 过去 不 醒 就 好 了 我 真想 睡 死", "endless_sleep"),
    ("我 遗书 都 写 好 了", "will"),
    ("我 划 了 手腕", "method"),
    ("我 老伴 去年 走 了 我 想 去 陪 她", "join_the_dead"),
])
def test_each_category_makes_a_line_critical(text: str, cue: str) -> None:
    got = _zh(text)
    assert got.critical and got.distress, got
    assert cue in got.cues


@pytest.mark.parametrize("text", [
    "老子 死 都 不 还", "烦 死 人 了", "累 死 了 明天 说", "这 利息 要 人 命", "我 死 都 不 会 认",
    "吓 死 我 了", "忙 得 要 死", "这 跳楼价 谁 买", "死 心 吧 我 没 钱",
])
def test_death_idioms_are_not_critical(text: str) -> None:
    assert not _zh(text).critical


def test_idioms_are_blanked_before_cues() -> None:
    assert "死" not in blank_idioms(normalise("烦 死 了"), "zh")


@pytest.mark.parametrize("text", ["他 跳 楼 了", "我 朋友 想 不 开 自杀 了", "邻居 在 天台 上 晾 被子"])
def test_someone_else_is_not_the_caller(text: str) -> None:
    assert not _zh(text).critical


@pytest.mark.parametrize("text", ["我 在 江边 钓鱼", "我 住 河边", "我 想 去 找 他 要 钱",
                                  "我 切菜 割 了 手", "我 爸 的 遗嘱 还 没 公证"])
def test_cue_guards_keep_ordinary_lines_ordinary(text: str) -> None:
    # 'unless' (fishing, cooking), 'requires' (a bereavement for joining someone), a relative's will.
    assert not _zh(text).critical


def test_weak_cue_needs_the_speaker_or_hopelessness() -> None:
    alone = _zh("天台 上 风 大")
    assert alone.score < 1.0  # the scored cue alone stays below the threshold ...
    assert alone.critical and alone.cues[0] == "fallback"  # ... the recall-first net catches it
    lifted = _zh("天台 上 风 大 反正 也 撑 不 住 了")
    assert lifted.critical and lifted.score >= 1.0 and "fallback" not in lifted.cues


@pytest.mark.parametrize("text", ["我 妈 上 个 月 刚 走", "我 们 厂 停工 了 没 工资", "我 天天 睡 不 好",
                                  "压力 大 到 头发 一直 掉", "老公 要 跟 我 离"])
def test_distress_kinds(text: str) -> None:
    got = _zh(text)
    assert got.distress and not got.critical


@pytest.mark.parametrize("text", ["最近 手头 紧", "周转 不开 能 缓 缓 吗", "再 打 我 就 报警"])
def test_money_tight_and_threats_to_report_are_not_distress(text: str) -> None:
    assert not _zh(text).distress


def test_hook_makes_understand_critical_and_keeps_wrong_party() -> None:
    got = understand("药 都 备 齐 了 不 用 再 打 了", "zh", TODAY)
    assert got.critical and "distress" in got.intents
    assert understand("我 爸 已经 过世 两 年 了 他 的 账 我 不 管", "zh", TODAY).intents == ("wrong_party",)


def test_unknown_language_data_is_a_packaging_error() -> None:
    with pytest.raises(FileNotFoundError):
        assess("x", "ko")


# zh_blind3_caller.jsonl was written after this layer and never tuned on: the honest unseen
# estimate. Measured: distress recall 0.526 (0.449 without the layer), critical recall 0.321
# (0.214 without), critical precision 0.90. Far below target; these are regression floors.
BLIND3_FLOORS = {"distress_recall": 0.52, "critical_recall": 0.32, "critical_precision": 0.9}


def test_blind3_caller_floors() -> None:
    scores = score_lines(load_jsonl(OWN / "zh_blind3_caller.jsonl"))["caller"]
    for figure, floor in BLIND3_FLOORS.items():
        assert scores[figure] >= floor, (figure, scores[figure])


# --- English cues (data/en/safety.toml), hooked in voicebot.nlu.en after the rules.
def _en(text: str):  # type: ignore[no-untyped-def]
    return assess(en_normalise(text), "en")


@pytest.mark.parametrize(("text", "cue"), [
    ("honestly i just want to stop existing", "wish_to_die"),
    ("i'm going to end things tonight", "ending_strong"),
    ("there's no reason in me carrying on", "no_point_living"),
    ("my kids would be happier without me", "better_without_me"),
    ("i feel like such a burden", "burden"),
    ("i'm not going to be alive for the next payment", "not_alive"),
    ("i've been squirrelling away my sleeping tablets", "medicine"),
    ("i'm up on the roof of the flats right now", "height"),
    ("i keep thinking about throwing myself in front of a bus", "jump"),
    ("i'm just going to wade into the sea", "water_plan"),
    ("i've recorded videos for my daughter to watch later", "farewell"),
    ("i left a farewell note on the table", "farewell_strong"),
    ("i sorted out my funeral this week", "will"),
    ("i'm hoping i don't wake up tomorrow", "endless_sleep"),
    ("i've started burning myself again", "method"),
])
def test_each_english_category_makes_a_line_critical(text: str, cue: str) -> None:
    got = _en(text)
    assert got.critical and got.distress, got
    assert cue in got.cues


@pytest.mark.parametrize("text", [
    "these charges are killing me", "my back is killing me so be quick", "i'd sooner die than pay that",
    "over my dead body", "i was bored to death on hold", "my phone is dying call me back", "i'm dead tired",
    "i nearly died when i opened the letter", "we need to end this call now", "i killed it at my interview",
    "you'll be the death of me", "don't jump to conclusions i paid",
])
def test_english_idioms_are_not_critical(text: str) -> None:
    assert not _en(text).critical


@pytest.mark.parametrize("text", [
    "my dad took an overdose last year", "my neighbour jumped off a bridge", "she said she wants to die",
    "my brother has been cutting himself",
])
def test_english_third_person_is_not_the_caller(text: str) -> None:
    assert not _en(text).critical


@pytest.mark.parametrize("text", [
    "i'll finish paying it off on friday", "i won't be around tomorrow ring me on monday",
    "i'm driving over the bridge to the branch now", "i go fishing on the river at weekends",
    "i'm on the roof fixing the gutter", "i'll be gone on holiday next week so call after",
    "i'm sorting out my dad's will with the solicitor", "i don't wake up early enough for your calls",
])
def test_english_guards_keep_ordinary_lines_ordinary(text: str) -> None:
    assert not _en(text).critical


def test_weak_english_cue_needs_speaker_and_hopelessness() -> None:
    assert not _en("that's the end of it").critical
    assert _en("i can't take any more i'm going to end it").critical


def test_english_hook_makes_understand_critical() -> None:
    got = understand("honestly i've run out of reasons to keep going", "en", TODAY)
    assert got.critical and "distress" in got.intents
    got = understand("my feet are killing me call me back tomorrow", "en", TODAY)
    assert not got.critical and "callback" in got.intents


def test_addressee_before_a_cue_naming_the_speaker_is_still_the_speaker() -> None:
    # 你们 (the agents) precede it, but 找不到我 is about the speaker.
    assert _zh("你们 以后 再 也 找 不 到 我 了").critical
    assert not _zh("你们 找 不 到 他 的").critical


def test_prefilter_and_cache_keep_verdicts() -> None:
    norm = en_normalise("i want to end my life")
    assess.cache_clear()
    first = assess(norm, "en")
    assert assess(norm, "en") is first and first.critical
    assert assess(en_normalise("yes that's me"), "en") == SafetyVerdict(False, False, 0.0, ())


# --- Recall-first fallback (safety.toml [fallback]): new wordings no scored cue covers.
@pytest.mark.parametrize("text", [
    "我 把 这 半年 的 止痛药 都 藏 起来 了", "我 这 一 走 你们 的 钱 也 就 清 了", "以后 孩子 就 交给 我 妈 了",
    "我 已经 不 想 再 睁 眼 了", "房梁 上 的 绳子 我 都 挂 好 了", "我 对不起 我 爸妈 养 我 这么 多 年",
    "活 到 现在 也 够 了", "我 撑 不 到 月底 了", "我 想 早点 去 陪 我 奶奶", "我 给 女儿 写 了 封 信 放 在 抽屉 里",
])
def test_zh_fallback_catches_new_indirect_hints(text: str) -> None:
    got = _zh(text)
    assert got.critical and got.distress, got


@pytest.mark.parametrize("text", [
    "累 死 了 晚上 再 说", "笑 死 我 了 你们 这 利息", "饿 死 了 先 吃饭", "气 死 我 了 我 早 还 了", "忙 死 了 别 打",
    "烦 得 我 要 死 能 分期 吗", "我 爸 去年 去世 了 这 是 他 的 号", "他 跳楼 了 你们 别 找 了", "负担 不 起 这么 高 的 月供",
    "我 同事 跳槽 了", "我 在 楼顶 收 衣服", "最后 一 期 我 周五 还", "明天 上午 再 打", "我 先 走 了 在 开会",
    "以后 有 事 写 信 给 我", "我 撑 不 住 了 压力 太 大",
])
def test_zh_fallback_leaves_idioms_and_other_people_alone(text: str) -> None:
    assert not _zh(text).critical


@pytest.mark.parametrize("text", [
    "i've been hiding my painkillers in a drawer for months", "i don't think i'll make it to christmas",
    "the kids will be fine i've sorted everything out", "i keep looking at the railway bridge on my way home",
    "nobody would even notice to be honest", "i'm not going to be a problem for you much longer",
    "there's nothing keeping me here anymore", "i've been researching ways to do it",
    "i just want everything to stop for good", "i'm sorry tell my kids i love them",
])
def test_en_fallback_catches_new_indirect_hints(text: str) -> None:
    got = _en(text)
    assert got.critical and got.distress, got


@pytest.mark.parametrize("text", [
    "this is killing me", "i'm dying to get this sorted", "my dad died last year this was his phone",
    "the deadline is friday", "my phone is about to die", "okay thanks goodbye", "i've made my mind up i'm not paying",
    "the interest is a real burden can i pay less", "i can't afford my medication this month",
    "she's not here right now", "i jumped on the bus call me later", "the last time i paid was august",
    "i'm not around tomorrow ring me monday", "the money just disappears every month",
])
def test_en_fallback_leaves_idioms_and_other_people_alone(text: str) -> None:
    assert not _en(text).critical


def test_fallback_is_reported_and_flags_the_figurative_line() -> None:
    got = _zh("我 这 一 走 你们 的 钱 也 就 清 了")
    assert got.cues[0] == "fallback" and got.score < 1.0  # no scored cue reached the threshold
    assert _zh("累 死 了").figurative and not _zh("我 想 还 钱").figurative


@pytest.mark.parametrize(("lang", "text", "intents", "critical"), [
    # a goodbye to a child or a spouse (eighth-session round on zh_blind13)
    ("zh", "你 帮 我 跟 我 女儿 说 一 声 爸爸 对不起 她 以后 不 能 陪 她 了", ("distress",), True),
    ("zh", "我 以后 再 也 不 能 陪 着 孩子 了", ("distress",), True),
    # after a day none of this concerns me any more; no point holding on (zh_blind16)
    ("zh", "这 周末 过后 这些 事 就 跟 我 没 关系 了", ("distress",), True),
    ("zh", "工作 没 了 家 也 没 了 还 有 什么 意义 撑 下去", ("distress",), True),
    # an idiom and "a live person" are not self-harm; an everyday "don't want to give it" is a refusal
    ("zh", "死 猪 不 怕 开水 烫 我 就 不 还", ("refuse",), False),
    ("zh", "我 不 想 听 录音 了 有 没有 活人 啊", ("request_agent",), False),
    ("en", "i've got the money i just don't want to give it to you", ("refuse",), False),
    ("en", "i'd sooner drop dead than give you lot a dime", ("refuse",), False),
    # ...while a real hint on the same line still counts
    ("en", "i don't want to pay and honestly i don't want to be here anymore", ("distress",), True),
])
def test_farewells_critical_and_everyday_refusals_not(lang: str, text: str, intents: tuple[str, ...],
                                                       critical: bool) -> None:
    got = understand(text, lang, date(2026, 11, 28))
    assert (got.intents, got.critical) == (intents, critical)
