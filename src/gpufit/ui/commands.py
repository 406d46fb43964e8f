"""The one registry of user commands: it feeds the bindings, the footer, the help screen and the palette.

Each `Command` is declared once, with an id (so a keymap can rebind it), the key, the action it
runs on the main screen, a short footer description and a longer help line. Commands with a
`title` also appear in the command palette (Ctrl+P).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

PANES = Binding.Group("panes", compact=True)
CONTEXT = Binding.Group("ctx", compact=True)
GPUS = Binding.Group("GPUs", compact=True)
SWEEPS = Binding.Group("sweeps", compact=True)
COMPARE = Binding.Group("compare", compact=True)


@dataclass(frozen=True, slots=True)
class Command:
    """One thing the user can do: its key, the screen action it runs, and how it is described."""

    id: str
    """Stable id (`gpufit.<name>`), used by keymaps."""
    key: str
    """Key (or comma-separated keys) that run it."""
    action: str
    """Action string run on the main screen (`app.` prefix for app actions)."""
    description: str
    """Short label for the footer."""
    help: str
    """One sentence for the help screen and the palette."""
    title: str | None = None
    """Palette title; None keeps the command out of the palette."""
    show: bool = True
    """Whether the footer shows it at all. Keys labelled where they act (the workload bar's
    `(v)` and `(e)`, the result border's `(g)`) and rare ones live in `?` help and the palette."""
    group: Binding.Group | None = None
    """Footer group, so related keys share one label."""
    key_display: str | None = None
    """How the footer writes the key, when Textual's default is unclear."""
    narrow: bool = True
    """Whether the footer keeps it below 120 columns; the others are shown elsewhere on screen
    with their key (workload bar, result border) or are rare enough for `?` and the palette."""
    priority: bool = False
    """Checked when the key arrives, before it is passed to the focused widget. Keys that move
    focus need it: keys typed right after them must reach the new place (the actions step aside
    with SkipAction when a text box should get the key instead)."""

    @property
    def binding_id(self) -> str:
        """The id keymaps use."""
        return f"gpufit.{self.id}"

    def binding(self) -> Binding:
        """This command as a Textual binding."""
        return Binding(self.key, self.action, self.description, show=self.show,
                       key_display=self.key_display, priority=self.priority,
                       id=self.binding_id, tooltip=self.help, group=self.group)


COMMANDS: tuple[Command, ...] = (
    Command("help", "question_mark", "show_help", "help", "Show every key binding.",
            title="Help: list every key", key_display="?"),
    Command("palette", "ctrl+p", "app.command_palette", "palette",
            "Open the command palette (every command, searchable).", show=False),
    Command("quit", "q", "app.quit", "quit", "Quit gpufit-tui.", title="Quit"),
    Command("focus-hardware", "1", "focus_pane('hardware')", "hardware",
            "Focus the hardware pane (GPU, count, memory).", group=PANES, priority=True),
    Command("focus-model", "2", "focus_pane('model')", "model",
            "Focus the model pane.", group=PANES, priority=True),
    Command("focus-quant", "3", "focus_pane('quant')", "quant",
            "Focus the quantization pane.", group=PANES, priority=True),
    Command("focus-result", "4", "focus_pane('result')", "result",
            "Focus the result pane (scroll it with the arrows).", group=PANES, priority=True),
    Command("next", "tab", "focus_step(1)", "next", "Move focus to the next control.",
            show=False, priority=True),
    Command("previous", "shift+tab", "focus_step(-1)", "previous",
            "Move focus to the previous control.", show=False, priority=True),
    Command("filter", "slash", "focus_filter", "filter",
            "Type to filter the focused list.", key_display="/", priority=True),
    Command("leave-box", "escape", "leave_input", "leave box",
            "Leave a text box for the list of its pane.", show=False, priority=True),
    Command("box-to-list", "down", "leave_input(True)", "to list",
            "From a filter or number box, go to the list of its pane.", show=False,
            priority=True),
    Command("context-halve", "left_square_bracket", "scale_context(0.5)", "ctx ÷2",
            "Halve the context (down to 256 tokens).", group=CONTEXT, key_display="["),
    Command("context-double", "right_square_bracket", "scale_context(2)", "ctx ×2",
            "Double the context (up to 4 × the model's maximum).", group=CONTEXT,
            key_display="]"),
    Command("gpus-more", "plus", "change_gpu_count(1)", "more GPUs",
            "One more GPU (up to 16).", group=GPUS, key_display="+"),
    Command("gpus-fewer", "minus", "change_gpu_count(-1)", "fewer GPUs",
            "One GPU fewer (down to 1).", group=GPUS, key_display="-"),
    Command("kv-dtype", "v", "cycle('kv_cache_dtype')", "KV",
            "Cycle the KV-cache type (f16, bf16, fp8, q8_0, q4_0).",
            narrow=False, show=False, title="Cycle KV-cache type"),
    Command("engine", "e", "cycle('engine')", "engine", "Switch engine: llama.cpp / vLLM.",
            narrow=False, show=False, title="Switch engine (llama.cpp / vLLM)"),
    Command("flash-attention", "F", "cycle('flash_attention')", "FA",
            "Flash attention: auto (each engine's default: on) → on → off (the attention-score "
            "buffer of older llama.cpp builds).",
            narrow=False, show=False, title="Cycle flash attention (auto / on / off)"),
    Command("rescan-models", "R", "rescan_models", "local",
            "Look for models on this machine again (Hugging Face cache, Ollama, LM Studio, "
            "llama.cpp cache, your folders).",
            narrow=False, show=False, title="Rescan the models on this machine"),
    Command("sort-models", "S", "sort_models", "sort",
            "Sort the models: catalog order, size, newest, best fit on this setup.",
            narrow=False, show=False, title="Sort models (catalog / size / newest / fit)"),
    Command("vision", "i", "cycle('include_vision')", "vision",
            "Include a multimodal model's vision encoder (llama.cpp's --mmproj file) in memory; "
            "off by default (text only).",
            narrow=False, show=False, title="Include / leave out the vision encoder (mmproj)"),
    Command("units", "g", "toggle_units", "units",
            "Show sizes in GB (10^9 bytes) or GiB (2^30 bytes).",
            narrow=False, show=False, title="Toggle GB / GiB"),
    Command("detect", "r", "rescan", "rescan",
            "Read this machine's GPUs again with nvidia-smi (free memory changes).",
            narrow=False, title="Detect GPUs again (nvidia-smi)"),
    Command("theme", "t", "app.change_theme", "theme", "Choose a colour theme (remembered).",
            narrow=False, show=False, title="Switch theme"),
    Command("copy", "y", "export('markdown', True)", "copy",
            "Copy the report as Markdown (OSC 52) and save it to a file too.",
            narrow=False, show=False, title="Copy report as Markdown"),
    Command("save-profile", "s", "save_profile", "save",
            "Save the whole setup as a named profile (asks before overwriting).",
            title="Save profile"),
    Command("open-profile", "o", "open_profile", "open",
            "Open a saved profile (filterable list; n renames, d deletes).",
            title="Open profile"),
    Command("rename-profile", "ctrl+n", "open_profile('rename')", "rename profile",
            "Rename a saved profile.", show=False, title="Rename profile"),
    Command("delete-profile", "ctrl+d", "open_profile('delete')", "delete profile",
            "Delete a saved profile (asks first).", show=False, title="Delete profile"),
    Command("restore-session", "ctrl+l", "app.toggle_restore_session", "restore session",
            "Turn reopening the last session at start on or off.", show=False,
            title="Toggle: reopen the last session at start"),
    Command("serving", "l", "serving", "serve",
            "Serving view: throughput, TTFT and TPOT against concurrent users, as a chart.",
            narrow=False, title="Serving view (load chart)"),
    Command("best-here", "b", "sweep('best')", "best here",
            "Rank every model at its best quant on this hardware; Enter loads one.",
            narrow=False, group=SWEEPS, title="Sweep: best models for this hardware"),
    Command("hardware-for", "w", "sweep('hardware')", "which GPUs",
            "List the smallest hardware that holds this model; Enter loads one.",
            narrow=False, group=SWEEPS, title="Sweep: hardware that fits this model"),
    Command("pin", "p", "pin", "pin", "Pin this setup (again: unpin) to compare with c.",
            narrow=False, group=COMPARE, title="Pin setup for comparison"),
    Command("compare", "c", "compare", "compare",
            "Compare the pinned setup with the current one, side by side.",
            narrow=False, group=COMPARE, title="Compare with pinned setup"),
    Command("run-hints", "u", "run_hints", "run cmd",
            "Show (and copy) the llama.cpp and vLLM command lines for this setup.",
            narrow=False, title="Run hints: llama.cpp / vLLM command"),
    Command("open-model", "f", "open_model_file", "open file",
            "Open a model file: a GGUF (split ones too) or a Hugging Face folder, read exactly.",
            narrow=False, title="Open model file (GGUF / Hugging Face folder)"),
    Command("save-model", "a", "save_imported_model", "add to catalog",
            "Save the model opened from a file into your catalog, so the picker keeps it.",
            narrow=False, show=False, title="Save imported model to my catalog"),
    Command("host", "dollar_sign", "host", "RAM/price",
            "Set system RAM, its bandwidth (for offload) and a price per GPU-hour (for cost).",
            narrow=False, key_display="$", show=False, title="Host RAM, bandwidth and price"),
    Command("save-markdown", "m", "export('markdown')", "md",
            "Save the report as gpufit-report-<model>-<quant>.md here.",
            narrow=False, show=False, title="Save report as Markdown file"),
    Command("save-json", "x", "export('json')", "json",
            "Save the report as gpufit-report-<model>-<quant>.json here.",
            narrow=False, show=False, title="Save report as JSON file"),
)


def bindings() -> list[Binding]:
    """Every registry command as a binding, in registry order."""
    return [command.binding() for command in COMMANDS]


def wide_only_actions() -> frozenset[str]:
    """Actions the footer hides below 120 columns."""
    return frozenset(command.action for command in COMMANDS if not command.narrow)


def palette_commands() -> list[Command]:
    """The commands offered in the command palette."""
    return [command for command in COMMANDS if command.title is not None]
