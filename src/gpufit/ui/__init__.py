"""The Textual user interface: four live panes over the pure core (see `gpufit.ui.app.make_app`)."""
