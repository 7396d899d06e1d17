problem "reference table: wrong_columns"
domain    x in [0, 1]
unknown   u
equation  -u_xx = 2
bc        u = 0 on boundary
reference u = data("tables/wrong_columns.csv")
