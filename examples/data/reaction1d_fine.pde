# The fine solve that writes the reference table of
# examples/reaction1d_reference.pde (no closed-form solution):
#   pdec solve examples/data/reaction1d_fine.pde --out /tmp/fine
#   cp /tmp/fine/solution.csv examples/data/reaction1d_fine.csv
problem "Reaction-diffusion 1-D, fine solve"

domain   x in [0, 1]
unknown  u

equation -u_xx + 10*u^3 = 10*sin(pi*x) + 1
bc       u = 0 on x = 0
bc       u = 1 on x = 1

ansatz   rfm(features = 400, activation = tanh, scale = 3)
sample   interior = grid(256)
train    gauss_newton(iters = 60)
