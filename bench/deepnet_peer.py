"""PyTorch peer of sgdlab's deep-net training steps (models.BenchmarkCNNStep and
models.BenchmarkResNetTinyStep): one float32 SGD step (forward, softmax cross-entropy, backward,
update) on a batch of 128 random images, on one thread.

  cnn:          conv3x3(1->16, bias) - relu - maxpool2 - conv3x3(16->32, bias) - relu - maxpool2
                - linear(32*7*7 -> 10), on MNIST shapes (1, 28, 28)
  resnet_tiny:  the pre-activation ResNet of the authors' deep_nets code with one block per stage
                (their TinyResNet), width 16, on CIFAR shapes (3, 32, 32), 10 classes

Both at PyTorch's default initialisation after torch.manual_seed(0), the scheme sgdlab replays
(data.TorchRand). Prints one JSON object: median milliseconds per step over the repeats, per
model, and the torch configuration. Options as a JSON argument, e.g. '{"repeats": 3}'.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class CNN(nn.Module):
    def __init__(self, channels=(16, 32), classes=10, side=28, cin=1):
        super().__init__()
        self.convs = nn.ModuleList()
        for c in channels:
            self.convs.append(nn.Conv2d(cin, c, 3, padding=1))
            cin, side = c, side // 2
        self.linear = nn.Linear(cin * side * side, classes)

    def forward(self, x):
        for conv in self.convs:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        return self.linear(x.flatten(1))


class PreActBlock(nn.Module):
    """bn1-relu, conv3x3 (stride), bn2-relu, conv3x3, plus the identity or a 1x1 convolution of
    the first activation where the shape changes; convolutions without bias."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or cin != planes:
            self.shortcut = nn.Conv2d(cin, planes, 1, stride=stride, bias=False)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        sc = self.shortcut(a) if self.shortcut is not None else x
        return self.conv2(F.relu(self.bn2(self.conv1(a)))) + sc


class PreActResNet(nn.Module):
    def __init__(self, blocks=(1, 1, 1, 1), width=16, classes=10, cin=3):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, padding=1, bias=False)
        layers, planes_in = [], width
        for i, nb in enumerate(blocks):
            planes = width << i
            for j in range(nb):
                layers.append(PreActBlock(planes_in, planes, (1 if i == 0 else 2) if j == 0 else 1))
                planes_in = planes
        self.layers = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(planes_in)
        self.linear = nn.Linear(planes_in, classes)

    def forward(self, x):
        out = F.relu(self.bn(self.layers(self.conv1(x))))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def time_steps(model, shape, batch, steps, repeats, lr=0.01):
    g = torch.Generator().manual_seed(1)
    x = torch.rand((batch,) + shape, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()

    def step():
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = step()
        times.append((time.perf_counter() - t0) / steps * 1e3)
    times.sort()
    return dict(ms_per_step=times[len(times) // 2], all_ms=times, final_loss=float(loss))


def main(batch=128, steps=5, repeats=5, threads=1, models=("cnn", "resnet_tiny")):
    torch.set_num_threads(threads)
    out = dict(torch=torch.__version__, threads=torch.get_num_threads(), batch=batch,
               mkldnn=torch.backends.mkldnn.is_available())
    for name in models:
        torch.manual_seed(0)
        if name == "cnn":
            model, shape = CNN(), (1, 28, 28)
        else:
            model, shape = PreActResNet(), (3, 32, 32)
        out[name] = time_steps(model, shape, batch, steps, repeats)
    print(json.dumps(out))


if __name__ == "__main__":
    main(**(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
