"""Detection of the installed NVIDIA GPUs from nvidia-smi: `run` (async), `parse` (pure),
`match` (readings → hardware options), `snapshot` (what was found), `report` (for the CLI).

Nothing is re-exported here, so importing the snapshot type (as the app does at start) does not
pull in the parsers and the XML library. Depends on the core, never on the UI.
"""
