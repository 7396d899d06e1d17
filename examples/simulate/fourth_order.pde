# Fourth-order nonlinear diffusion (m = 2), reflecting boundaries:
#   u_t = -d(d(u_xx/(1 + u_xx^2/lambda^2), x), x)  on (0, 1) x (0, 1e-6].
# Phi(s) = s/(1 + s^2/lambda^2) acts on the second derivative; the mean of
# u is preserved and the Euclidean norm never grows for tau <= tau_max.
problem "Fourth-order diffusion 1-D"

domain   x in [0, 1]
time     t in [0, 1e-6]
const    lambda = 100
unknown  u

equation u_t = -d(d(u_xx/(1 + u_xx^2/lambda^2), x), x)
bc       u_x = 0 on x = 0, x = 1
initial  u = exp(-100*(x - 0.5)^2) + 0.05*cos(40*pi*x)

scheme   explicit(grid = 200)
