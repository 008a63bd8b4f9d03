"""Links that carry a setup (playground/ui/links.py): parsing, and the JavaScript that writes them."""
from __future__ import annotations

from playground.presets import PRESETS
from playground.ui import links
from playground.ui.form import FIELDS, config_from_form, flat_values
from playground.ui.limits import Limits


def parse(query: str) -> links.Link:
    return links.parse(query, "auto", Limits())


def test_a_link_is_its_preset_then_each_field_on_top():
    link = parse("?preset=grid25&g_lr=0.0007&loss=hinge&seed=3&tab=sample&hide=d_lr,loss")
    expected = {**flat_values(PRESETS["grid25"]), "g_lr": 0.0007, "loss": "hinge", "seed": 3,
                "device": "auto"}
    assert link.values == {f: expected[f] for f in FIELDS}
    assert (link.preset, link.tab, link.hidden, link.problems) == ("grid25", "sample",
                                                                  ["d_lr", "loss"], [])
    assert link.note == ""
    assert config_from_form(link.values).train.g_lr == 0.0007  # a config Train accepts


def test_text_becomes_each_settings_type():
    link = parse("?preset=mnist-dcgan&spectral_norm=false&channels=3&batch_size=32.0"
                 "&ema_decay=0&precision=fp32")
    assert link.values["spectral_norm"] is False and link.values["channels"] == 3
    assert link.values["batch_size"] == 32 and isinstance(link.values["batch_size"], int)
    assert link.values["ema_decay"] == 0.0 and link.values["precision"] == "fp32"
    assert link.problems == []
    assert parse("").values == parse("?preset=ring8").values  # no link: the default preset


def test_each_bad_parameter_is_named_once_and_keeps_the_presets_value():
    ring8 = parse("?preset=ring8").values
    link = parse("?preset=ring8&g_lr=99&bogus=1&batch_size=abc&steps=99999999999&tab=x"
                 "&hide=zz&d_lr=0.001&path=/etc")
    assert len(link.problems) == 7
    for words in ("g_lr=99.0 is out of range: allowed (0, 10]", "'bogus' is not a setting",
                  "batch_size='abc' must be a whole number", "GP_MAX_STEPS", "tab='x'",
                  "hide: 'zz'", "'path' is not a setting"):
        assert sum(words in p for p in link.problems) == 1, words
    assert link.note.startswith("**This link has settings that cannot apply**")
    for name in ("g_lr", "batch_size", "steps"):
        assert link.values[name] == ring8[name], name
    assert link.values["d_lr"] == 0.001  # a good parameter beside bad ones still applies
    assert link.tab is None and link.hidden == []


def test_an_unknown_preset_is_named_and_the_default_used():
    link = parse("?preset=nope&seed=4")
    assert link.preset == "ring8" and link.values["seed"] == 4
    assert link.problems == ["preset='nope' is not one of: " + ", ".join(PRESETS) + "."]


def test_fields_the_config_refuses_together_go_back_to_the_preset_and_say_so():
    link = parse("?preset=ring8&pack=3")  # ring8's batch of 256 is not a multiple of 3
    assert link.values["pack"] == PRESETS["ring8"].model.pack
    assert len(link.problems) == 1 and "must be a multiple of pack=3" in link.problems[0]
    assert "pack from the link is not used" in link.problems[0]
    link = parse("?preset=ring8&arch=dcgan")  # a DCGAN needs images
    assert link.values["arch"] == "mlp" and "arch='dcgan' needs image data" in link.note


def test_a_huge_query_is_cut_not_parsed_whole():
    link = parse("?preset=grid25&" + "x=1&" * 100_000)
    assert link.preset == "grid25" and len(link.problems) == 1  # one 'x', named once


def test_the_scripts_get_their_values_and_keep_no_placeholder():
    code = links.script("link", PRESETS={"ring8": {"g_lr": 0.002}}, FIELDS=["g_lr"],
                        DEFAULT="ring8")
    assert "/*" + "PRESETS*/" not in code and '{"ring8": {"g_lr": 0.002}}' in code
    assert "(preset, ...values) =>" in code and "history.replaceState" in code
    assert '"sample"' in links.script("link_tab", TAB="sample")
