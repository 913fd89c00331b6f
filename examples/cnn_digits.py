"""A small convolutional network on the embedded 8x8 digits: conv, batch norm, pooling, a head.

The lectures build MLPs; this is the next model. Two blocks of 3x3 convolution -> BatchNorm2d ->
ReLU -> 2x2 max pooling turn a (1, 8, 8) image into 32 maps of 2x2, and a Linear head reads their
128 numbers (the model `minigrad train --model cnn` builds). Batch norm does by measurement what
lecture 001's slides 'Scaled initialization' do by choosing Var[w] = 1/d: each channel enters the
ReLU with mean 0 and variance 1, whatever the weights before it. It keeps running statistics for
evaluation (`model.eval()`), buffers saved with the model but never stepped by the optimizer.

Prints the held-out accuracy after every epoch, the count of weights (about a third of the
default MLP's 17,226), and how the evaluation mode differs from the training mode on the same batch.
"""

from __future__ import annotations

import time

import numpy as np
from _common import note, parse_args, pyplot, report, save

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import datasets


def digits_split(test_fraction: float = 0.2):
    """The digits shuffled by the engine RNG, standardized per pixel with the training rows'
    statistics, as (1, 8, 8) images: train and test images and labels."""
    images, labels = datasets.digits()
    order = mg.random.generator().permutation(len(images))
    images = np.asarray(images, dtype=np.float64)[order].reshape(-1, 64)
    labels = np.asarray(labels)[order].astype(np.int64)
    test = int(round(test_fraction * len(images)))
    mean, std = images[test:].mean(axis=0), images[test:].std(axis=0)
    images = ((images - mean) / np.where(std > 1e-8, std, 1.0)).astype(np.float32)
    images = images.reshape(-1, 1, 8, 8)
    return images[test:], labels[test:], images[:test], labels[:test]


def cnn(first: int = 16, second: int = 32) -> nn.Sequential:
    """(N, 1, 8, 8) -> conv 3x3 -> BN -> ReLU -> pool -> conv 3x3 -> BN -> ReLU -> pool ->
    Linear: 16 maps of 4x4, then 32 of 2x2, then 10 logits."""
    return nn.Sequential(
        nn.Conv2d(1, first, 3, padding=1, bias=False),  # the batch norm's shift is the bias
        nn.BatchNorm2d(first),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, first, 4, 4)
        nn.Conv2d(first, second, 3, padding=1, bias=False),
        nn.BatchNorm2d(second),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, second, 2, 2)
        nn.Flatten(),
        nn.Linear(second * 4, 10),
    )


def tiles(kernels: np.ndarray, columns: int = 4) -> np.ndarray:
    """(K, 3, 3) kernels as one image, `columns` to a row, blank (NaN) lines between them."""
    rows = -(-len(kernels) // columns)
    image = np.full((rows * 4 - 1, columns * 4 - 1), np.nan)
    for index, kernel in enumerate(kernels):
        top, left = 4 * (index // columns), 4 * (index % columns)
        image[top : top + 3, left : left + 3] = kernel
    return image


def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    with mg.no_grad():
        return float((model(mg.tensor(images)).numpy().argmax(axis=1) == labels).mean())


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    mg.manual_seed(0)
    train_x, train_y, test_x, test_y = digits_split()
    epochs, batch = (3, 32) if args.small else (15, 32)
    if args.small:
        train_x, train_y = train_x[:600], train_y[:600]
    model = cnn()
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    report("parameters", model.num_parameters())
    report("buffers", sum(b.size for b in model.buffers()))
    accuracies, started = [], time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = mg.random.generator().permutation(len(train_x))
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            loss = nn.functional.cross_entropy(model(mg.tensor(train_x[rows])), train_y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
        accuracies.append(accuracy(model, test_x, test_y))
    report("test accuracy by epoch", *accuracies)
    note(f"{epochs} epochs of {len(train_x)} images in {time.perf_counter() - started:.1f} s")

    # The same batch through both modes: training normalizes by this batch's statistics, evaluation
    # by the running ones, so the logits differ a little; the predictions hardly ever do.
    sample = mg.tensor(test_x[:64])
    with mg.no_grad():
        train_logits = model.train()(sample).numpy()
        eval_logits = model.eval()(sample).numpy()
    report("max |train - eval logits|", np.abs(train_logits - eval_logits).max())
    same = (train_logits.argmax(axis=1) == eval_logits.argmax(axis=1)).mean()
    report("same prediction in both modes", same)

    plt = pyplot()
    if plt is None:
        return
    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3.6))
    left.imshow(tiles(model[0].weight.numpy()[:, 0]), cmap="RdBu_r")
    left.set(title="the first layer's 16 learned 3x3 filters", xticks=[], yticks=[])
    right.plot(range(1, epochs + 1), accuracies, "o-")
    right.set(xlabel="epoch", ylabel="held-out accuracy", title="test accuracy by epoch")
    save(figure, args.out, "cnn_digits.png")


if __name__ == "__main__":
    main()
