# `formulation flux` cannot rewrite a function of a second derivative
domain x in [0, 1]
unknown u
equation -u_xx + 0.1*sin(u_xx) = pi^2*sin(pi*x)
bc u = 0 on boundary
exact u = sin(pi*x)
formulation flux
