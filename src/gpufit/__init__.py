"""gpufit-tui: will this LLM fit on this GPU, and how fast will it run?"""

__version__ = "0.1.0"
