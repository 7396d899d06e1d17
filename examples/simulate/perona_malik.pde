# Perona-Malik diffusion of a noisy step, reflecting boundaries:
#   u_t = d(u_x/(1 + u_x^2/lambda^2), x)  on (0, 1) x (0, 1e-3].
# The flux Phi(s) = s/(1 + s^2/lambda^2) is non-monotone: edges with
# |u_x| > lambda are kept (even sharpened), small oscillations smoothed.
# Phi(s)/s = 1/(1 + s^2/lambda^2) lies in (0, 1], so L = 1.
problem "Perona-Malik 1-D"

domain   x in [0, 1]
time     t in [0, 1e-3]
const    lambda = 2
unknown  u

equation u_t = d(u_x/(1 + u_x^2/lambda^2), x)
bc       u_x = 0 on x = 0, x = 1
initial  u = tanh(40*(x - 0.5)) + 0.1*sin(60*pi*x)

scheme   fed(grid = 1000, cycles = 4)
