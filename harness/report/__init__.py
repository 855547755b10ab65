"""Reports: the results table, results.json, and (later) the error-versus-h report."""
