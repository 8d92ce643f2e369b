"""A small transformer language model in the manner of the "nn.Transformer" tutorial: token embedding
scaled by sqrt(d_model), sinusoidal positional encoding, a causal TransformerEncoder, a linear head,
trained with AdamW and gradient clipping to continue a repeating sequence."""
import math

import numpy as np
import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(0)]


class TransformerModel(nn.Module):
    def __init__(self, ntoken=7, d_model=16, nhead=2, d_hid=32, nlayers=2):
        super().__init__()
        self.pos_encoder = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout=0.0)
        self.transformer_encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)

    def forward(self, src, src_mask):
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        output = self.transformer_encoder(src, src_mask, is_causal=True)
        return self.linear(output)


def make_data(seq_len=12, batch=4):
    pattern = np.array([0, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1])
    rows = [np.roll(pattern, -k)[:seq_len + 1] for k in range(batch)]
    data = torch.tensor(np.stack(rows, axis=1))  # (seq_len + 1, batch), sequence first
    return data[:-1], data[1:]


def build_model():
    return TransformerModel()


def train(model, data, steps=30):
    inputs, targets = data
    mask = nn.Transformer.generate_square_subsequent_mask(inputs.size(0))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    losses = []
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        output = model(inputs, mask)
        loss = criterion(output.view(-1, output.size(-1)), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        predictions = model(inputs, mask).argmax(dim=-1)
    return losses, predictions
