"""Demo steps, one module per capability (ORDER, TITLE, run(ctx))."""
