"""The names a paper gives itself, which the index keeps so that people can search by them."""

from __future__ import annotations

import pytest

from bot.search.query import nicknames, parse


@pytest.mark.parametrize(("title", "abstract", "names"), [
    ("BERT: Pre-training of Deep Bidirectional Transformers", "We introduce a new model.", ["bert"]),
    ("U-Net: Convolutional Networks for Biomedical Image Segmentation", "", ["unet"]),
    ("Adam: A Method for Stochastic Optimization", "", ["adam"]),
    ("Language Models are Few-Shot Learners", "Here we train GPT-3, an autoregressive model.", ["gpt3", "gpt"]),
    ("You Only Look Once", "We present YOLO, a new approach to detection.", ["yolo"]),
    ("Proximal Policy Optimization Algorithms", "which we call proximal policy optimization (PPO).", ["ppo"]),
    ("Deep Residual Learning for Image Recognition", "Deeper neural networks are harder to train.", []),
    ("Quantum computing: a review", "We review the field.", []),  # two plain words are a topic, not a name
])
def test_names_a_paper_gives_itself(title: str, abstract: str, names: list[str]) -> None:
    assert nicknames(title, abstract) == names


def test_query_forms_are_parsed() -> None:
    query = parse('author:"ashish vaswani" "all you need" transformer atten')
    assert query.authors == ("ashish", "vaswani")
    assert query.phrases == (("all", "you", "need"),)
    assert query.free == ("all", "you", "need", "transformer", "atten")
    assert query.prefix == "atten"
    assert parse("transformer ").prefix is None
