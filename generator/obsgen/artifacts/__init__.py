"""Stage 3: the resolved stack → the files the chart renders."""
