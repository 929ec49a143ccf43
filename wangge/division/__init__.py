"""Grid division: preview a new division or a rebalance of communities, apply it, staff the grids.

It sits above the area tree and the registry because it changes both: the tree's grids, and the
grid of every household, resident and record that follows them (through a registry action).
"""
