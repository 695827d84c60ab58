"""The NumPy reference, randomness: NumPy's bit generator, in the order the compiled loop draws."""

from __future__ import annotations


def shuffle_order(rng, order):
    """Shuffle the sample order in place (``Generator.shuffle``)."""
    rng.shuffle(order)


def dropout_mask(rng, n_rows, n_units, rate):
    """Inverted dropout: keep where u >= rate (u from ``Generator.random``), scale
    1 / (1 - rate)."""
    return (rng.random((n_rows, n_units)) >= rate) / (1.0 - rate)


def dropout_masks(spec, hyper, rng, n_rows, dtype):
    """One mask per hidden layer, drawn in layer order (None where the rate is 0), in the
    parameters' ``dtype`` (1 / (1 - rate) rounded to it)."""
    rates = hyper.dropout or (0.0,) * (spec.n_layers - 1)
    return [
        dropout_mask(rng, n_rows, spec.sizes[l + 1], rate).astype(dtype, copy=False)
        if rate > 0.0
        else None
        for l, rate in enumerate(rates)
    ]
