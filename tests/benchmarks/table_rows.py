"""The models of the benchmark table (built alike on both engines) and the MLP steps written by hand.

``ROWS`` maps a row name to how to build it; ``build(nn)`` takes either engine's ``nn`` module, so
PyTorch and layerforge train exactly the same architecture (the weights are copied across by the
runner). ``HandMLP`` is the "no engine at all" floor for the two MLP rows: the same forward, loss,
backward and Adam update written directly with numpy (or cupy) arrays, updating buffers in place as a
careful person would. Engine overhead = our step time / this one's.
"""
from __future__ import annotations

import math


def tiny_mlp(nn):
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))


def mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def wide_mlp(nn):
    return nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                         nn.Linear(4096, 10))


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def mnist_cnn(nn):
    """The shape of PyTorch's MNIST example: two 3x3 convs (32, 64), max-pool, dropout, fc 128."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


def cifar_cnn(nn):
    """The shipped CIFAR-10 example (resources/examples/cifar10_cnn.lfproj): three 3x3 conv stages
    (16, 32, 64 channels, padding 1) each with batch norm, ReLU and a 2x2 max-pool, fc 128, dropout."""
    def stage(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(*stage(3, 16), *stage(16, 32), *stage(32, 64), nn.Flatten(),
                         nn.Linear(1024, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def _recurrent_classifier(nn, kind):
    class RecurrentClassifier(nn.Module):
        """An LSTM or GRU over (seq, batch, 32) and a linear head on the last time step."""

        def __init__(self):
            super().__init__()
            self.recurrent = getattr(nn, kind)(32, 128)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            output, _ = self.recurrent(x)
            return self.head(output[-1])

    return RecurrentClassifier()


def lstm(nn):
    return _recurrent_classifier(nn, "LSTM")


def gru(nn):
    return _recurrent_classifier(nn, "GRU")


def transformer(nn):
    class EncoderClassifier(nn.Module):
        """One encoder block (d_model 64, 4 heads, feed-forward 128, batch first), the mean over the
        sequence, and a linear head."""

        def __init__(self):
            super().__init__()
            self.encoder = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, batch_first=True)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            return self.head(self.encoder(x).mean(1))

    return EncoderClassifier()


# input shape, target ("class" = 10 class indices, "value" = one float per sample), aim (ratio ours /
# PyTorch, one thread; issue 20), for the hand-written rows the aim of the engine overhead, label.
ROWS = {
    "tiny": dict(build=tiny_mlp, input=(32, 2), target="value", aim=0.25, overhead_aim=1.3,
                 label="tiny MLP 2-16-16-1, batch 32"),
    "mlp": dict(build=mlp, input=(128, 784), target="class", aim=0.8, overhead_aim=1.1,
                label="MLP 784-256-256-10, batch 128"),
    "lenet": dict(build=lenet, input=(64, 1, 28, 28), target="class", aim=0.9,
                  label="LeNet CNN 28x28, batch 64"),
    "mnist_cnn": dict(build=mnist_cnn, input=(64, 1, 28, 28), target="class", aim=1.0,
                      label="MNIST-example CNN (conv 32/64, pool, dropout, fc 128), batch 64"),
    "cifar_cnn": dict(build=cifar_cnn, input=(64, 3, 32, 32), target="class", aim=1.0,
                      label="CIFAR-10 example CNN (conv 16/32/64, batch norm, pool; fc 128), batch 64"),
    "lstm": dict(build=lstm, input=(32, 32, 32), target="class", aim=1.0,
                 label="LSTM seq 32, hidden 128, batch 32"),
    "gru": dict(build=gru, input=(32, 32, 32), target="class", aim=1.0,
                label="GRU seq 32, hidden 128, batch 32"),
    "transformer": dict(build=transformer, input=(32, 32, 64), target="class", aim=1.0,
                        label="Transformer encoder block (d 64, 4 heads, ff 128, dropout 0.1), seq 32, batch 32"),
    "wide": dict(build=wide_mlp, input=(1024, 1024), target="class", aim=1.5, gpu_only=True,
                 label="wide MLP 1024-4096-4096-10, batch 1024"),
}
HAND_WRITTEN = ("tiny", "mlp", "wide")


class HandMLP:
    """ReLU MLP + (MSE or softmax cross-entropy) + backward + PyTorch's Adam, on raw arrays.

    ``weights`` is the list [W1, b1, W2, b2, ...] in PyTorch's layout (W is out x in), as float32
    arrays of module ``xp``. Gradients are freshly written each step, so nothing needs zeroing.
    """

    def __init__(self, xp, weights, x, target, loss, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.xp, self.params, self.x, self.loss = xp, [xp.array(w) for w in weights], x, loss
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.m = [xp.zeros_like(p) for p in self.params]
        self.v = [xp.zeros_like(p) for p in self.params]
        self.scratch = [xp.empty_like(p) for p in self.params]
        self.t = 0
        if loss == "cross_entropy":
            self.onehot = xp.zeros((x.shape[0], weights[-1].shape[0]), xp.float32)
            self.onehot[xp.arange(x.shape[0]), target] = 1.0
        else:
            self.target = target.reshape(x.shape[0], -1)

    def step(self):
        xp, params = self.xp, self.params
        activations = [self.x]
        for i in range(0, len(params), 2):
            h = activations[-1] @ params[i].T
            h += params[i + 1]
            if i + 2 < len(params):
                xp.maximum(h, 0.0, out=h)
            activations.append(h)
        out = activations.pop()
        n = out.shape[0]
        if self.loss == "cross_entropy":
            out -= out.max(axis=1, keepdims=True)
            xp.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
            loss = -xp.log(out[self.onehot > 0]).mean()
            out -= self.onehot
            out *= 1.0 / n
        else:
            out -= self.target
            loss = (out * out).mean()
            out *= 2.0 / out.size
        grad_out, grads = out, [None] * len(params)
        for i in range(len(params) - 2, -1, -2):
            a = activations[i // 2]
            grads[i] = grad_out.T @ a
            grads[i + 1] = grad_out.sum(axis=0)
            if i:
                grad_out = grad_out @ params[i]
                grad_out *= a > 0
        self._adam(grads)
        return loss

    def _adam(self, grads):
        xp, b1, b2 = self.xp, self.beta1, self.beta2
        self.t += 1
        step_size = self.lr / (1.0 - b1 ** self.t)
        bias2_sqrt = math.sqrt(1.0 - b2 ** self.t)
        for p, g, m, v, s in zip(self.params, grads, self.m, self.v, self.scratch):
            m *= b1
            xp.multiply(g, 1.0 - b1, out=s)
            m += s
            v *= b2
            xp.multiply(g, g, out=s)
            s *= 1.0 - b2
            v += s
            xp.sqrt(v, out=s)
            s /= bias2_sqrt
            s += self.eps
            xp.divide(m, s, out=s)
            s *= step_size
            p -= s
