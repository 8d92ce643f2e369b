"""``torch.nn.utils.rnn``: padding sequences of different lengths into one batch."""
from __future__ import annotations

from .. import ops as _ops


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"):
    """Stack (L_i, *) tensors into (L_max, B, *) (or (B, L_max, *)), padded with padding_value."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    sequences = list(sequences)
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = longest - s.shape[0]
        widths = [0, 0] * (s.ndim - 1) + ([extra, 0] if padding_side == "left" else [0, extra])
        padded.append(_ops.pad(s, widths, value=padding_value) if extra else s)
    return _ops.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False):
    batch = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [batch[i, :int(n)] for i, n in enumerate(lengths.tolist() if hasattr(lengths, "tolist") else lengths)]
