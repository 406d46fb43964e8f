"""The Textual user interface: four live panes over the pure core (see `gpufit.ui.app.make_app`).

Importing the package sets Textual's frame cap (`TEXTUAL_FPS`, read once when Textual is first
imported) to 120 unless the user chose one. A keypress paints twice — the key's echo at once,
the new result a few milliseconds later — and Textual's screen timer, after the echo of an
idle screen, holds the next frame one to two periods back: at 60 frames per second that wait
(17–33 ms) was the largest part of key → result. Frames are still only painted when something
changed, so a held key sends no more bytes over SSH than before.
"""

import os

os.environ.setdefault("TEXTUAL_FPS", "120")
