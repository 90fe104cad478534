"""lstm_scan (zspace.nn.recurrent): nn.LSTM's function and gradients, by hand, in any matmul dtype."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zspace.nn.recurrent import BidirectionalLSTMEncoder, Conductor, LSTMDecoderCore, lstm_scan


def test_scan_matches_nn_lstm_and_passes_gradcheck():
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 6, bidirectional=True).double()
    x, h0, c0 = torch.randn(5, 3, 4).double(), torch.randn(2, 3, 6).double(), torch.randn(2, 3, 6).double()
    ref, (h_ref, c_ref) = lstm(x, (h0, c0))
    weights = [
        (lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0),
        (lstm.weight_ih_l0_reverse, lstm.bias_ih_l0_reverse + lstm.bias_hh_l0_reverse),
    ]
    gates = torch.stack([x @ w.t() + b for w, b in weights]).detach()  # (2, T, B, 4H)
    gates[1] = gates[1].flip(0)  # the backward direction reads t = T-1 first
    weight_hh = torch.stack([lstm.weight_hh_l0, lstm.weight_hh_l0_reverse])
    out, (h, c) = lstm_scan(gates, (h0, c0), weight_hh, torch.float64)
    torch.testing.assert_close(torch.cat([out[0], out[1].flip(0)], dim=-1), ref)
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(c, c_ref)
    inputs = [t.detach().clone().requires_grad_() for t in (gates, h0, c0, weight_hh)]

    def scan(g, a, b, w):
        out, (_, c) = lstm_scan(g, (a, b), w, torch.float64)
        return out, c

    assert torch.autograd.gradcheck(scan, inputs)


@pytest.mark.parametrize("block", ["encoder", "core", "conductor"])
def test_scan_path_equals_fused_path(block):
    """The same weights through nn.LSTM (matmul_dtype None) and lstm_scan (float32): same outputs and gradients;
    bf16 matmuls stay within bf16 rounding of them."""
    torch.manual_seed(0)
    make = {
        "encoder": lambda d: BidirectionalLSTMEncoder(7, (8, 5), matmul_dtype=d),
        "core": lambda d: LSTMDecoderCore(7, 4, (9, 6), 11, matmul_dtype=d),
        "conductor": lambda d: Conductor(4, (6, 5), matmul_dtype=d),
    }[block]
    x, e = torch.randn(3, 10, 7), torch.randn(3, 4)
    run = {"encoder": lambda m: m(x), "core": lambda m: m(x, e), "conductor": lambda m: m(e, 6)}[block]
    results, weights = [], make(None).state_dict()
    for dtype in (None, torch.float32, torch.bfloat16):
        model = make(dtype)
        model.load_state_dict(weights)
        out = run(model)
        (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
        results.append((out.detach(), {n: p.grad for n, p in model.named_parameters()}))
    (out0, grads0), (out1, grads1), (out2, grads2) = results
    torch.testing.assert_close(out1, out0, atol=1e-6, rtol=1e-5)
    for name in grads0:
        torch.testing.assert_close(grads1[name], grads0[name], atol=1e-6, rtol=1e-4, msg=name)
        assert torch.allclose(grads2[name], grads0[name], atol=0.05 * grads0[name].abs().max().item() + 1e-6), name
    torch.testing.assert_close(out2, out0, atol=2e-2, rtol=0)
