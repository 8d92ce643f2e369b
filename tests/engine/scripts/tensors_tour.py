"""The "Tensors" tutorial, step by step: making tensors, their attributes, indexing, joining, arithmetic,
in-place updates, the numpy bridge, and the everyday reductions, scans and bit operations."""
import numpy as np
import torch


def run():
    out = {}
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    out["x_ones"] = torch.ones_like(x_data)
    out["x_float"] = torch.zeros_like(x_data, dtype=torch.float)
    shape = (2, 3)
    out["ones"], out["zeros"] = torch.ones(shape), torch.zeros(shape)
    tensor = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    out["attributes"] = (tuple(tensor.shape), str(tensor.dtype).split(".")[-1], str(tensor.device))
    out["first_row"], out["first_column"], out["last_column"] = tensor[0], tensor[:, 0], tensor[..., -1]
    tensor[:, 1] = 0
    out["after_assign"] = tensor.clone()
    out["cat"] = torch.cat([tensor, tensor, tensor], dim=1)
    out["stack"] = torch.stack([tensor[0], tensor[1]])
    out["matmul"] = (tensor @ tensor.T, tensor.matmul(tensor.T))
    y3 = torch.zeros(3, 3)
    torch.matmul(tensor, tensor.T, out=y3)
    z3 = torch.zeros_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    out["out"] = (y3, z3)
    out["elementwise"] = (tensor * tensor, tensor.mul(tensor))
    agg = tensor.sum()
    out["agg_item"] = agg.item()
    tensor.add_(5)
    out["in_place"] = tensor.clone()
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    out["numpy_bridge"] = n.copy()
    out["from_numpy_shares"] = (x_np + 0, np.add(np_array, 1, out=np_array), x_np.clone())
    # beyond the tutorial: what the next pages use
    values = torch.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    out["sort"] = torch.sort(values, dim=1, descending=True)
    out["topk"] = values.topk(2)
    out["cumsum"] = values.cumsum(dim=1)
    out["argmax"] = values.argmax(dim=1, keepdim=True)
    out["where"] = torch.where(values > 1, values, torch.zeros_like(values))
    flags = torch.tensor([6, 3, 12], dtype=torch.int32)
    out["bits"] = (flags & 5, flags | 1, flags ^ 5, ~flags, flags << 2, flags >> 1)
    out["gather"] = values.gather(1, torch.tensor([[2], [0]]))
    out["index"] = values[1, :, None][[0, 2]]
    out["einsum"] = torch.einsum("ij,kj->ik", values, values)
    out["float_ops"] = (values.exp().log1p(), values.clamp(0, 2), torch.div(values, 2, rounding_mode="floor"))
    return out
