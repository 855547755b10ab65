"""Everything that decides a verdict.

check.py is the entry point and the order of the steps; context.py what one check shares;
tolerance.py the error model and every tolerance formula; differences.py the judge's own
difference quotients; entries.py and directions.py judge finite differences entry by entry and
along random directions; analytic.py judges a hand-written gradient; inputs.py validates and
snapshots the arguments; records.py turns per-entry outcomes into records and messages.
"""
