# 19 million random interior points with 1600 features: the least-squares
# matrix alone would take 243 GB (issue 15: E0515 before any allocation).
# Used by tests/memory.rs.
domain x in [0, 1], y in [0, 1]
unknown u
equation -lap(u) = 2*pi^2*sin(pi*x)*sin(pi*y)
bc u = 0 on boundary
exact u = sin(pi*x)*sin(pi*y)
ansatz rfm(features = 1600, scale = 2)
sample interior = random(19000000)
