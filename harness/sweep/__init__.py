"""Error versus h: measure.py sweeps the step, model.py fits the curves and predicts them from the
error model, explain.py writes the text, plots.py draws, report.py publishes the report."""
