# examples/poisson1d.pde with a large feature scale and more rows than
# columns (issue 15): stage 1 of the least-squares QR meets columns reduced
# to subnormal round-off, which once gave a NaN reflector and a non-finite
# network. Used by tests/solve.rs.
problem "Poisson 1-D, steep features"

domain   x in [0, 1]
unknown  u

equation -u_xx = 4*pi^2*sin(2*pi*x)
bc       u = 0 on x = 0, x = 1

exact    u = sin(2*pi*x)

ansatz   rfm(features = 1000, activation = tanh, scale = 60, seed = 0)
sample   interior = grid(2000)
diff     ad
train    lstsq
