"""Reproduces the export pitfalls listed on docs/experiments/attention-maps.md with PyTorch 1.13 (Debian's
/usr/bin/python3), writing the models into a folder (default /tmp/pitfalls) for attnlab to refuse:

  /usr/bin/python3 scripts/attention-maps-pitfalls.py /tmp/pitfalls

  1. nn.TransformerEncoder exported under torch.no_grad(): the exporter fails on the fused fast path
     (aten::_transformer_encoder_layer_fwd); the message is printed. The same export without no_grad works.
  2. fixed-batch.onnx: exported without dynamic_axes from a batch of 2 (both axes fixed).
  3. fixed-batch-dynamic-T.onnx: dynamic_axes for T only (the batch stays fixed at 2).
  4. positions-16.onnx: a GPT-style model with a 16-row position table (T > 16 fails in its Gather).
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else '/tmp/pitfalls'
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


class Encoder(nn.Module):
    def __init__(self, vocab=50, d=32, heads=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, num_layers=2)

    def forward(self, input_ids):
        return self.enc(self.emb(input_ids))


class Tiny(nn.Module):
    """One causal attention layer with a learned position table of max_t rows."""

    def __init__(self, vocab=50, d=32, heads=4, max_t=16):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(max_t, d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, vocab)

    def forward(self, input_ids):
        b, t = input_ids.shape
        x = self.wte(input_ids) + self.wpe(torch.arange(t)).unsqueeze(0)
        q, k, v = (z.view(b, t, self.h, self.dh).transpose(1, 2) for z in self.qkv(x).split(x.shape[-1], dim=2))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.dh)
        att = att.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float('-inf'))
        return self.out((F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(b, t, -1))


def export(model, path, **kw):
    torch.onnx.export(model, (torch.randint(0, 50, (2, 8)),), path, input_names=['input_ids'],
                      output_names=['logits'], opset_version=14, **kw)
    print(f'wrote {path}')


enc = Encoder().eval()
try:
    with torch.no_grad():
        export(enc, os.path.join(OUT, 'encoder-no-grad.onnx'),
               dynamic_axes={'input_ids': {0: 'batch', 1: 'T'}, 'logits': {0: 'batch', 1: 'T'}})
except Exception as e:  # the pitfall: the exporter has no symbolic for the fused fast path
    print(f'1. under torch.no_grad(): {type(e).__name__}: {e}')
export(enc, os.path.join(OUT, 'encoder.onnx'),
       dynamic_axes={'input_ids': {0: 'batch', 1: 'T'}, 'logits': {0: 'batch', 1: 'T'}})
tiny = Tiny().eval()
export(tiny, os.path.join(OUT, 'fixed-batch.onnx'))
export(tiny, os.path.join(OUT, 'fixed-batch-dynamic-T.onnx'), dynamic_axes={'input_ids': {1: 'T'}, 'logits': {1: 'T'}})
export(tiny, os.path.join(OUT, 'positions-16.onnx'),
       dynamic_axes={'input_ids': {0: 'batch', 1: 'T'}, 'logits': {0: 'batch', 1: 'T'}})
