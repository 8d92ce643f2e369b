"""``nn.init``: in-place initialisers with PyTorch's names and fan rules."""
