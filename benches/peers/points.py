"""Point sets on [0, 1]^2 built exactly as pdec's `grid(n)` sampler builds them."""

import numpy as np


def open_axis(n, lo=0.0, hi=1.0):
    """n points strictly inside (lo, hi): lo + (j + 1)(hi - lo)/(n + 1)."""
    return lo + (hi - lo) * np.arange(1, n + 1) / (n + 1)


def closed_axis(n, lo=0.0, hi=1.0):
    """n points from lo to hi inclusive: lo + j(hi - lo)/(n - 1)."""
    return lo + (hi - lo) * np.arange(n) / (n - 1)


def tensor(xs, ys):
    """Tensor product as an (len(xs) * len(ys), 2) array, x-major (y fastest)."""
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.column_stack([gx.ravel(), gy.ravel()])


def interior(n):
    """grid(n) in the interior: n^2 points."""
    return tensor(open_axis(n), open_axis(n))


def boundary(n):
    """grid(n) on the boundary: 4n points, each edge and corner once.

    Faces x = 0 and x = 1 include the y endpoints; faces y = 0 and y = 1
    exclude the x endpoints.
    """
    return np.vstack([
        tensor([0.0], closed_axis(n)),
        tensor([1.0], closed_axis(n)),
        tensor(open_axis(n), [0.0]),
        tensor(open_axis(n), [1.0]),
    ])


def test_grid(n=101):
    """The n x n test grid including the boundary."""
    return tensor(closed_axis(n), closed_axis(n))
