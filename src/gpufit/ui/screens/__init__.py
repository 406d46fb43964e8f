"""The app's screens: the main four-pane screen and the generated help screen."""
