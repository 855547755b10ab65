"""Regression gating: baseline.py the baseline file, compare.py the regression rule, render.py the
table, JUnit XML and Markdown summary."""
