"""Adapters from live user code to check(): stateful layers and networks of the book's protocol
(layer.py, net.py, bound to plain functions by bound.py, their state saved by state.py), and
finite-difference routines with a step of their own (numerical.py)."""
