"""Writes torch_linear_state_dict.pt beside this script: the checked-in PyTorch checkpoint that tests
the reader where torch is not installed. Run once with PyTorch (``python make_torch_linear_state_dict.py``);
the expected values are the formulas below, so the test needs no torch to check them."""
from collections import OrderedDict
from pathlib import Path

import torch


def main() -> None:
    model = torch.nn.Sequential(OrderedDict(fc=torch.nn.Linear(3, 2), bn=torch.nn.BatchNorm1d(2)))
    with torch.no_grad():
        model.fc.weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4)   # [[0, .25, .5], [.75, 1, 1.25]]
        model.fc.bias.copy_(torch.tensor([-1.0, 2.0]))
        model.bn.running_mean.copy_(torch.tensor([0.5, -0.5]))
        model.bn.running_var.copy_(torch.tensor([4.0, 0.25]))
        model.bn.num_batches_tracked.fill_(7)
    checkpoint = {"model": model.state_dict(), "epoch": 3, "loss": 0.125, "name": "tiny",
                  "weight_t": model.fc.weight.detach().t(), "row": model.fc.weight.detach()[1, 1:],
                  "history": [1.0, 0.5, (2, "x")]}
    torch.save(checkpoint, Path(__file__).with_name("torch_linear_state_dict.pt"))


if __name__ == "__main__":
    main()
