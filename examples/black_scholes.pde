# Black-Scholes for a European call, in the time to maturity t:
#   u_t = sigma^2/2 S^2 u_SS + r S u_S - r u  for S in [0.5, 2], t in [0.25, 1],
# with strike K = 1. The exact solution is the Black-Scholes formula,
#   u = S N(d1) - K exp(-r t) N(d2),  N(z) = (1 + erf(z/sqrt(2)))/2,
#   d1 = (log(S/K) + (r + sigma^2/2) t)/(sigma sqrt(t)),  d2 = d1 - sigma sqrt(t).
# The payoff max(S - K, 0) at t = 0 has a kink; the problem starts at
# t = 1/4 from the formula's values there, and the price sides S = 0.5,
# S = 2 take the formula's values too.
problem "Black-Scholes, European call"

domain   S in [0.5, 2]
time     t in [0.25, 1]
const    sigma = 0.4, r = 0.05, K = 1
let      d1 = (log(S/K) + (r + sigma^2/2)*t)/(sigma*sqrt(t))
let      d2 = d1 - sigma*sqrt(t)
let      price = S*(1 + erf(d1/sqrt(2)))/2 - K*exp(-r*t)*(1 + erf(d2/sqrt(2)))/2
unknown  u

equation u_t = sigma^2/2*S^2*u_SS + r*S*u_S - r*u
bc       u = price on boundary
initial  u = price

exact    u = price

ansatz   rfm(features = 800, activation = tanh, scale = 1)
sample   interior = grid(40), boundary = grid(40), initial = grid(40)
train    lstsq
