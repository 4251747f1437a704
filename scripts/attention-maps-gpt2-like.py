"""A GPT-2-small-shaped model with random weights (12 layers, d_model 768, 12 heads, MLP 3072, 1024 positions,
50257 tokens; pre-LayerNorm blocks, causal eager attention as Hugging Face's GPT-2 writes it), exported to ONNX for
the speed check of attention-maps (docs/experiments/attention-maps.md). Not committed (about 500 MB).

  /usr/bin/python3 scripts/attention-maps-gpt2-like.py /tmp/gpt2-like.onnx
  npm run exp -- /tmp/gpt2-like.yaml   (a YAML written beside it: T = 128, 32 sequences per probe)
  npm run exp -- /tmp/gpt2-like-ablation.yaml   (the ablation speed check: every head zeroed, 8 sequences per probe)
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, h, max_t):
        super().__init__()
        self.h, self.dh = h, d // h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.register_buffer('causal', torch.tril(torch.ones(max_t, max_t, dtype=torch.bool)).view(1, 1, max_t, max_t))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, self.dh).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.dh)
        att = torch.where(self.causal[:, :, :t, :t], att, torch.tensor(torch.finfo(att.dtype).min))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT2Like(nn.Module):
    def __init__(self, vocab=50257, d=768, layers=12, h=12, max_t=1024):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(max_t, d)
        self.blocks = nn.ModuleList([Block(d, h, max_t) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0, 0.02)  # GPT-2's initialisation

    def forward(self, input_ids):
        t = input_ids.shape[1]
        x = self.wte(input_ids) + self.wpe(torch.arange(t)).unsqueeze(0)
        for blk in self.blocks:
            x = blk(x)
        return self.ln(x) @ self.wte.weight.t()  # tied unembedding


def write_yaml(model, name, title, description, settings):
    """An attention-maps experiment file beside the model: both probes at T = 128, with these settings."""
    yaml = os.path.join(os.path.dirname(model), f'{name}.yaml')
    lines = '\n'.join(f'  {line}' for line in [f'model: {os.path.basename(model)}', *settings])
    chart = ("  - { id: c, title: C, spec: { mark: rect, encoding: { x: { field: head, type: ordinal }, "
             "y: { field: layer, type: ordinal } } } }")
    with open(yaml, 'w') as f:
        f.write(f"""name: {name}
title: {title}
description: {description}
simulation: attention-maps
seed: 1
grid:
  probe: [random, repeated]
  T: [128]
settings:
{lines}
charts:
{chart}
""")
    return yaml


if __name__ == '__main__':
    path = sys.argv[1] if len(sys.argv) > 1 else '/tmp/gpt2-like.onnx'
    torch.manual_seed(0)
    m = GPT2Like().eval()
    torch.onnx.export(m, (torch.randint(0, 50257, (2, 16)),), path, input_names=['input_ids'], output_names=['logits'],
                      dynamic_axes={'input_ids': {0: 'batch', 1: 'T'}, 'logits': {0: 'batch', 1: 'T'}}, opset_version=14)
    yaml = write_yaml(path, 'gpt2-like', 'GPT-2-shaped model with random weights (speed check)',
                      '12 layers, 768 wide, 12 heads, random weights.', ['sequences: 32'])
    write_yaml(path, 'gpt2-like-ablation', 'GPT-2-shaped model with random weights, every head ablated (speed check)',
               '12 layers, 768 wide, 12 heads, random weights; 144 heads zeroed one at a time on 2 probes.',
               ['sequences: 8', 'map_T: 0', 'ablation: zero'])
    print(f'{path}: {os.path.getsize(path) / 2**20:.0f} MiB; {yaml}')
