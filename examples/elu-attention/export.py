#!/usr/bin/env python3
"""Export two attention methods from PyTorch to ONNX, for attnlab's scaling experiment.

  elu_attention.onnx  linear attention with the feature map phi(x) = elu(x) + 1
                      (Katharopoulos et al. 2020, "Transformers are RNNs"):
                      O = phi(Q) (phi(K)^T V) / (phi(Q) phi(K)^T 1), O(N D M) time and memory
  softmax.onnx        softmax(Q K^T / sqrt(D)) V, the exact reference (marked `exact: softmax`)

The contract attnlab checks: inputs named Q, K, V of shapes [N, D], [N, D], [N, M] with N a
dynamic axis, one output O of shape [N, M].

Install and run (Debian's PyTorch; no onnx package is needed for the export):
    apt-get install -y python3-torch
    /usr/bin/python3 examples/elu-attention/export.py
Then time both against the built-ins:
    npm run exp -- examples/elu-attention/elu-attention.yaml
"""
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent


class EluAttention(torch.nn.Module):
    def forward(self, Q, K, V):
        phi_q = F.elu(Q) + 1
        phi_k = F.elu(K) + 1
        kv = phi_k.transpose(0, 1) @ V          # [D, M]
        z = phi_k.sum(dim=0)                    # [D]
        return (phi_q @ kv) / (phi_q @ z).unsqueeze(-1)


class SoftmaxAttention(torch.nn.Module):
    def forward(self, Q, K, V):
        return torch.softmax(Q @ K.transpose(0, 1) / Q.shape[-1] ** 0.5, dim=-1) @ V


def export(module, name):
    n, d, m = 128, 64, 64
    args = (torch.randn(n, d), torch.randn(n, d), torch.randn(n, m))
    torch.onnx.export(
        module, args, HERE / name,
        input_names=["Q", "K", "V"], output_names=["O"],
        dynamic_axes={"Q": {0: "N"}, "K": {0: "N"}, "V": {0: "N"}, "O": {0: "N"}},
        opset_version=15,
    )
    print(f"wrote {HERE / name}")


if __name__ == "__main__":
    export(EluAttention(), "elu_attention.onnx")
    export(SoftmaxAttention(), "softmax.onnx")
