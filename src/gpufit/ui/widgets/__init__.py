"""One widget module per pane, plus the small shared pieces they are built from."""
