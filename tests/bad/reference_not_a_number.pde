problem "reference table: not_a_number"
domain    x in [0, 1]
unknown   u
equation  -u_xx = 2
bc        u = 0 on boundary
reference u = data("tables/not_a_number.csv")
