# Perona-Malik smoothing of measured data: a noisy step (500 values in
# noisy_step.csv, next to this file), reflecting boundaries:
#   u_t = d(u_x/(1 + u_x^2/lambda^2), x)  on (0, 1) x (0, 2e-4].
# The grid is the data's: one value per cell centre x_i = (i + 1/2)/500.
# Measured (docs/reproductions.md): the total variation falls from 59.7 to
# 1.55 while the jump across the step stays at 0.95 (1.04 in the data).
problem "Perona-Malik on a noisy step (data)"

domain   x in [0, 1]
time     t in [0, 2e-4]
const    lambda = 20
unknown  u

equation u_t = d(u_x/(1 + u_x^2/lambda^2), x)
bc       u_x = 0 on x = 0, x = 1
initial  u = data("noisy_step.csv")

scheme   fed(cycles = 4)
