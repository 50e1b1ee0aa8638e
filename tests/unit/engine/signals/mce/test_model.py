"""The compact TFT: shapes, output ranges, interpretable weights."""

from __future__ import annotations

import torch

from engine.signals.mce.model import MCETemporalFusionTransformer, TFTParams


def test_tft_outputs_bounded_skew_and_a_logit_per_sample() -> None:
    torch.manual_seed(0)
    model = MCETemporalFusionTransformer(TFTParams(n_features=7, seq_len=12, d_model=8)).eval()
    x = torch.randn(5, 12, 7) * 10
    skew, logit = model(x)
    assert skew.shape == logit.shape == (5,)
    assert (skew.abs() < 1).all()


def test_tft_selection_and_attention_weights_are_distributions() -> None:
    model = MCETemporalFusionTransformer(TFTParams(n_features=4, seq_len=6, d_model=8)).eval()
    _, _, var_w, attn = model.explain(torch.randn(3, 6, 4))
    torch.testing.assert_close(var_w.sum(-1), torch.ones(3))
    torch.testing.assert_close(attn.sum(-1), torch.ones(3))
    assert attn.shape == (3, 6)


def test_tft_last_step_depends_only_on_its_window() -> None:
    model = MCETemporalFusionTransformer(TFTParams(n_features=3, seq_len=5, d_model=8)).eval()
    x = torch.randn(1, 5, 3)
    y = x.clone()
    y[0, 0] += 1.0  # the oldest step of the window changes the output
    assert model(x)[0] != model(y)[0]
