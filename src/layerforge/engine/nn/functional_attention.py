"""Attention in ``torch.nn.functional``: scaled_dot_product_attention, and the multi-head forward
that ``nn.MultiheadAttention`` runs (PyTorch's parameter layout: one packed in_proj for q, k, v)."""
from __future__ import annotations

import math

from .. import creation as _creation
from .. import ops as _ops
from ..dtypes import bool_ as _bool
from ..ops import dense as _dense
from ..ops.common import apply as _apply
from .functional_activations import dropout as _dropout


def _linear(x, weight, bias):
    if bias is None:
        return _apply(_dense.Linear(False), x, weight)
    return _apply(_dense.Linear(True), x, weight, bias)


def _masked(scores, mask):
    """A bool mask keeps where True (PyTorch's sdpa convention); a float mask is added."""
    if mask is None:
        return scores
    if mask._data.dtype.kind == "b":
        return _ops.where(mask, scores, float("-inf"))
    return scores + mask


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False):
    """softmax(q k^T * scale + mask) v, over the last two dims, batched over the rest."""
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                           "is_causal=True")
    if enable_gqa and key.shape[-3] != query.shape[-3]:  # grouped heads share keys and values
        repeat = query.shape[-3] // key.shape[-3]
        key = _ops.repeat_interleave(key, repeat, dim=-3)
        value = _ops.repeat_interleave(value, repeat, dim=-3)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = _ops.matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        length, source = query.shape[-2], key.shape[-2]
        attn_mask = _ops.tril(_creation.ones(length, source, dtype=_bool, device=query.device))
    weights = _ops.softmax(_masked(scores, attn_mask), -1)
    return _ops.matmul(_dropout(weights, dropout_p, True), value)


def _merge_masks(attn_mask, key_padding_mask, batch, heads, target, source, dtype):
    """One float mask of shape (batch, heads, target, source) from PyTorch's two MHA masks: a bool
    True means "do not attend" there (the opposite of sdpa's convention)."""
    merged = None
    if attn_mask is not None:
        mask = attn_mask
        if mask._data.dtype.kind == "b":
            mask = _ops.where(mask, float("-inf"), 0.0).to(dtype)
        if mask.ndim == 3:  # (batch * heads, target, source)
            mask = mask.reshape(batch, heads, target, source)
        merged = mask
    if key_padding_mask is not None:
        pad = key_padding_mask
        if pad._data.dtype.kind == "b":
            pad = _ops.where(pad, float("-inf"), 0.0).to(dtype)
        pad = pad.reshape(batch, 1, 1, source)
        merged = pad if merged is None else merged + pad
    return merged


def multi_head_attention_forward(query, key, value, num_heads, in_proj_weight, in_proj_bias, out_proj_weight,
                                 out_proj_bias, dropout_p=0.0, training=True, key_padding_mask=None,
                                 need_weights=True, attn_mask=None, average_attn_weights=True,
                                 is_causal=False, q_proj_weight=None, k_proj_weight=None, v_proj_weight=None):
    """Inputs are (L, N, E) (sequence first, PyTorch's default layout) or unbatched (L, E)."""
    batched = query.ndim == 3
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    target, batch, embed = query.shape
    source = key.shape[0]
    if embed % num_heads:
        raise AssertionError(f"embed_dim {embed} not divisible by num_heads {num_heads}")
    head = embed // num_heads
    if q_proj_weight is None:
        w_q, w_k, w_v = _ops.chunk(in_proj_weight, 3, 0)
    else:
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    b_q, b_k, b_v = _ops.chunk(in_proj_bias, 3, 0) if in_proj_bias is not None else (None, None, None)
    q, k, v = _linear(query, w_q, b_q), _linear(key, w_k, b_k), _linear(value, w_v, b_v)

    def heads(x, length):  # (L, N, E) -> (N, heads, L, head)
        return x.reshape(length, batch, num_heads, head).permute(1, 2, 0, 3)

    q, k, v = heads(q, target), heads(k, source), heads(v, source)
    if is_causal and attn_mask is None:  # is_causal is only a hint about the mask, as in PyTorch
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                           "module method `generate_square_subsequent_mask` to create this mask.")
    mask = _merge_masks(attn_mask, key_padding_mask, batch, num_heads, target, source, q.dtype)
    scores = _ops.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(head))
    if mask is not None:
        scores = scores + mask
    weights = _ops.softmax(scores, -1)
    out = _ops.matmul(_dropout(weights, dropout_p, training), v)  # (N, heads, L, head)
    out = out.permute(2, 0, 1, 3).reshape(target, batch, embed)
    out = _linear(out, out_proj_weight, out_proj_bias)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        weights = weights.squeeze(0)
    return out, weights
