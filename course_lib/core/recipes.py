"""The course's recipes: one SGD preset and the seeded, trained digits models the lessons start from.

A lesson that needs "the digits MLP of seed s" calls `trained_mlp(s, sizes, epochs)` instead of re-typing
the model, the loop and the learning rate; the same seed always gives the same model.
"""
from .data import Split, load_digits_split
from .layers import digits_cnn
from .measure import SIZES
from .nn import ACTIVATIONS, MLP, train
from .validation import Choice, InstanceOf, Integer, Optional, Seed, validate

DIGITS_SGD = dict(lr=0.05, batch_size=32, momentum=0.9)  # SGD + momentum for every digits model (lessons 00-14)
DATA = Optional(InstanceOf(Split, load_digits_split, "digits Split (data.load_digits_split())"))


@validate(seed=Seed(), sizes=SIZES, epochs=Integer(minimum=0), data=DATA, activation=Choice(*ACTIVATIONS))
def trained_mlp(seed, sizes=(64, 128, 64, 10), epochs=20, data=None, activation="relu"):
    """Return the digits MLP of `sizes`, initialised with `seed` and trained `epochs` epochs with DIGITS_SGD.

    The same seed draws the initial weights and the order of the minibatches. `data`: the split to train
    on (default: `load_digits_split()`, float32; lesson 11 passes its float64 copy).
    """
    return _trained(MLP(list(sizes), activation=activation, seed=seed), seed, epochs, data)


@validate(seed=Seed(), epochs=Integer(minimum=0), data=DATA)
def trained_cnn(seed, epochs=3, data=None):
    """Return the course's digits CNN (`layers.digits_cnn(seed)`) trained `epochs` epochs with DIGITS_SGD."""
    return _trained(digits_cnn(seed), seed, epochs, data)


def _trained(model, seed, epochs, data):
    data = load_digits_split() if data is None else data
    train(model, data.X_train, data.y_train, epochs, seed=seed, **DIGITS_SGD)
    return model
