# A problem built to diverge: -u'' + exp(u) = f with a learning rate far too
# large, so that u grows until exp(u) overflows. Used by tests/solve.rs to
# check the divergence message (exit code 1).
problem "Divergence on purpose"

domain   x in [0, 1]
unknown  u

equation -u_xx + exp(u) = 1
bc       u = 0 on boundary

# Raw inputs: the tests pin the iteration at which training diverges.
ansatz   shallow(width = 10, activation = tanh, seed = 3, normalize = false)
train    adam(lr = 1e3, epochs = 2000)
sample   interior = grid(16)
