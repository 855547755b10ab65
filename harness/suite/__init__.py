"""Cases and suites of them: case.py the Case model and ``case()``, collect.py finding and
importing case files, run.py running cases under a time limit."""
