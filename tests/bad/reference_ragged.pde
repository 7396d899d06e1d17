problem "reference table: ragged"
domain    x in [0, 1]
unknown   u
equation  -u_xx = 2
bc        u = 0 on boundary
reference u = data("tables/ragged.csv")
