"""Writes the numpy reference fixtures of tests/solve.rs
(`reference_arrays_from_numpy_score_like_the_exact_solution`): the exact
solution of examples/poisson1d.pde, u = sin(2 pi x), at the 101 test
points x = j/100, as .npy arrays (columns x, u) and .npz archives
(arrays x and u). Run from this directory with numpy installed:

    python make_fixtures.py
"""
import numpy as np

x = np.arange(101) / 100.0
u = np.sin(2 * np.pi * x)
table = np.stack([x, u], axis=1)

np.save("u_f8.npy", table)
np.save("u_f4_big_endian.npy", table.astype(">f4"))
np.save("u_fortran.npy", np.asfortranarray(table))
np.savez("u.npz", x=x, u=u, note=np.zeros(2))
np.savez_compressed("u_compressed.npz", x=x, u=u.astype(np.float32))
