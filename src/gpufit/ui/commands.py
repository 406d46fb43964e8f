"""The one registry of user commands: it feeds the bindings, the footer, the help screen and the palette.

Each `Command` is declared once, with an id (so a keymap can rebind it), the key, the action it
runs on the main screen, a short footer description and a longer help line. Commands with a
`title` also appear in the command palette (Ctrl+P); titles carry the words a user would type
("context", "double", "one more GPU"), since the palette matches titles only.

It also owns the keymap's checks (`check_keymap`) and the one answer to "which key runs this
command now" (`key_for`), so every place that names a key follows a remap.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import Keys, _character_to_key, _get_unicode_name_from_key

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
    """Key (or comma-separated keys) that run it; "" = palette only, no key."""
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
            title="Help: list every key binding", key_display="?"),
    Command("palette", "ctrl+p", "app.command_palette", "palette",
            "Open the command palette (every command, searchable).", show=False),
    Command("quit", "q", "app.quit", "quit", "Quit gpufit-tui.", title="Quit"),
    Command("focus-hardware", "1", "focus_pane('hardware')", "hardware",
            "Focus the hardware pane (GPU, count, memory).", group=PANES, priority=True,
            title="Go to the hardware pane (GPU, count, memory per GPU)"),
    Command("focus-model", "2", "focus_pane('model')", "model",
            "Focus the model pane.", group=PANES, priority=True,
            title="Go to the model pane (choose a model)"),
    Command("focus-quant", "3", "focus_pane('quant')", "quant",
            "Focus the quantization pane.", group=PANES, priority=True,
            title="Go to the quantization pane (choose a quant)"),
    Command("focus-result", "4", "focus_pane('result')", "result",
            "Focus the result pane (scroll it with the arrows).", group=PANES, priority=True,
            title="Go to the result pane (verdict, memory, speed)"),
    Command("next", "tab", "focus_step(1)", "next", "Move focus to the next control.",
            show=False, priority=True, title="Focus the next control"),
    Command("previous", "shift+tab", "focus_step(-1)", "previous",
            "Move focus to the previous control.", show=False, priority=True,
            title="Focus the previous control"),
    Command("filter", "slash", "focus_filter", "filter",
            "Type to filter the focused list.", key_display="/", priority=True,
            title="Filter / search the focused list"),
    Command("leave-box", "escape", "leave_input", "leave box",
            "Leave a text box for the list of its pane.", show=False, priority=True),
    Command("box-to-list", "down", "leave_input(True)", "to list",
            "From a filter or number box, go to the list of its pane.", show=False,
            priority=True),
    Command("context-halve", "left_square_bracket", "scale_context(0.5)", "ctx ÷2",
            "Halve the context (down to 256 tokens).", group=CONTEXT, key_display="[",
            title="Context: halve it (÷2, shorter context window)"),
    Command("context-double", "right_square_bracket", "scale_context(2)", "ctx ×2",
            "Double the context (up to 4 × the model's maximum).", group=CONTEXT,
            key_display="]", title="Context: double it (×2, longer context window)"),
    Command("gpus-more", "plus", "change_gpu_count(1)", "more GPUs",
            "One more GPU (up to 16).", group=GPUS, key_display="+",
            title="GPUs: one more GPU (add a card)"),
    Command("gpus-fewer", "minus", "change_gpu_count(-1)", "fewer GPUs",
            "One GPU fewer (down to 1).", group=GPUS, key_display="-",
            title="GPUs: one GPU fewer (remove a card)"),
    Command("kv-dtype", "v", "cycle('kv_cache_dtype')", "KV",
            "Cycle the KV-cache type (f16, bf16, fp8, q8_0, q4_0).",
            narrow=False, show=False, title="KV cache: cycle its type (f16, bf16, fp8, q8_0, q4_0)"),
    Command("engine", "e", "cycle('engine')", "engine", "Switch engine: llama.cpp / vLLM.",
            narrow=False, show=False, title="Engine: switch llama.cpp / vLLM"),
    Command("flash-attention", "F", "cycle('flash_attention')", "FA",
            "Flash attention: auto (each engine's default: on) → on → off (the attention-score "
            "buffer of older llama.cpp builds).",
            narrow=False, show=False, title="Flash attention: auto / on / off"),
    Command("rescan-models", "R", "rescan_models", "local",
            "Look for models on this machine again (Hugging Face cache, Ollama, LM Studio, "
            "llama.cpp cache, your folders).",
            narrow=False, show=False, title="Models: rescan the models on this machine (local)"),
    Command("sort-models", "S", "sort_models", "sort",
            "Sort the models: catalog order, size, newest, best fit on this setup.",
            narrow=False, show=False, title="Models: sort (catalog / size / newest / fit)"),
    Command("vision", "i", "cycle('include_vision')", "vision",
            "Include a multimodal model's vision encoder (llama.cpp's --mmproj file) in memory; "
            "off by default (text only).",
            narrow=False, show=False, title="Vision encoder (mmproj): include / leave out"),
    Command("units", "g", "toggle_units", "units",
            "Show sizes in GB (10^9 bytes) or GiB (2^30 bytes).",
            narrow=False, show=False, title="Units: sizes in GiB / GB (toggle)"),
    Command("detect", "r", "rescan", "rescan",
            "Read this machine's GPUs again with nvidia-smi (free memory changes).",
            narrow=False, title="GPUs: detect this machine's GPUs again (nvidia-smi)"),
    Command("theme", "t", "app.change_theme", "theme", "Choose a colour theme (remembered).",
            narrow=False, show=False, title="Switch theme"),
    Command("copy", "y", "export('markdown', True)", "copy",
            "Copy the report as Markdown (OSC 52) and save it to a file too.",
            narrow=False, show=False, title="Copy report as Markdown"),
    Command("save-profile", "s", "save_profile", "save",
            "Save the whole setup as a named profile (asks before overwriting).",
            title="Profile: save this setup"),
    Command("open-profile", "o", "open_profile", "open",
            "Open a saved profile (filterable list; n renames, d deletes).",
            title="Profile: open a saved setup"),
    Command("rename-profile", "ctrl+n", "open_profile('rename')", "rename profile",
            "Rename a saved profile.", show=False, title="Profile: rename"),
    Command("delete-profile", "ctrl+d", "open_profile('delete')", "delete profile",
            "Delete a saved profile (asks first).", show=False, title="Profile: delete"),
    Command("redraw", "ctrl+l", "app.redraw", "redraw",
            "Redraw the whole screen (after a flaky SSH link garbled it).", show=False,
            title="Redraw the screen (repaint everything)"),
    Command("restore-session", "", "app.toggle_restore_session", "restore session",
            "Turn reopening the last session at start on or off (remembered in settings.toml).",
            show=False, title="Restore last session at start: on / off (reopen the setup)"),
    Command("serving", "l", "serving", "serve",
            "Serving view: throughput, TTFT and TPOT against concurrent users, as a chart.",
            narrow=False, title="Serving view: throughput and latency per user (load chart)"),
    Command("best-here", "b", "sweep('best')", "best here",
            "Rank every model at its best quant on this hardware; Enter loads one.",
            narrow=False, group=SWEEPS, title="Best models for this hardware (sweep)"),
    Command("hardware-for", "w", "sweep('hardware')", "which GPUs",
            "List the smallest hardware that holds this model; Enter loads one.",
            narrow=False, group=SWEEPS, title="Which GPUs fit this model (smallest hardware, sweep)"),
    Command("pin", "p", "pin", "pin", "Pin this setup (again: unpin) to compare with c.",
            narrow=False, group=COMPARE, title="Pin / unpin this setup (for compare)"),
    Command("compare", "c", "compare", "compare",
            "Compare the pinned setup with the current one, side by side.",
            narrow=False, group=COMPARE, title="Compare the pinned setup with this one"),
    Command("run-hints", "u", "run_hints", "run cmd",
            "Show (and copy) the llama.cpp and vLLM command lines for this setup.",
            narrow=False, title="Run command: llama.cpp / vLLM command line"),
    Command("open-model", "f", "open_model_file", "open file",
            "Open a model file: a GGUF (split ones too) or a Hugging Face folder, read exactly.",
            narrow=False, title="Open a model file (GGUF / Hugging Face folder)"),
    Command("save-model", "a", "save_imported_model", "add to catalog",
            "Save the model opened from a file into your catalog, so the picker keeps it.",
            narrow=False, show=False, title="Add the opened model to my catalog"),
    Command("host", "dollar_sign", "host", "RAM/price",
            "Set system RAM, its bandwidth (for offload) and a price per GPU-hour (for cost).",
            narrow=False, key_display="$", show=False,
            title="Host: system RAM, bandwidth and price per GPU-hour (cost)"),
    Command("save-markdown", "m", "export('markdown')", "md",
            "Save the report as gpufit-report-<model>-<quant>.md here.",
            narrow=False, show=False, title="Save report as Markdown file"),
    Command("save-json", "x", "export('json')", "json",
            "Save the report as gpufit-report-<model>-<quant>.json here.",
            narrow=False, show=False, title="Save report as JSON file"),
)


def bindings() -> list[Binding]:
    """Every registry command that has a key as a binding, in registry order."""
    return [command.binding() for command in COMMANDS if command.key]


def command(command_id: str) -> Command:
    """The registry command with this id (`engine` or `gpufit.engine`)."""
    short = command_id.removeprefix("gpufit.")
    for item in COMMANDS:
        if item.id == short:
            return item
    raise KeyError(command_id)


def wide_only_actions() -> frozenset[str]:
    """Actions the footer hides below 120 columns."""
    return frozenset(command.action for command in COMMANDS if not command.narrow)


def palette_commands() -> list[Command]:
    """The commands offered in the command palette."""
    return [command for command in COMMANDS if command.title is not None]


# -- the keys in use ------------------------------------------------------------------------

def active_keymap(app: App[Any]) -> Mapping[str, str]:
    """The keymap the app applied (binding id → keys), empty when none."""
    keymap = getattr(app, "_keymap", {})
    return keymap if isinstance(keymap, Mapping) else {}


def keys_display(app: App[Any], keys: str, key_display: str | None = None) -> str:
    """How a comma-separated key list reads on screen ("ctrl+x,q" → "^x q")."""
    if key_display:
        return key_display
    return " ".join(app.get_key_display(Binding(key.strip(), "")) for key in keys.split(",")
                    if key.strip())


def binding_keys(app: App[Any], binding: Binding) -> str:
    """The keys that run `binding` now: the remapped ones when the keymap names its id."""
    remapped = active_keymap(app).get(binding.id or "")
    if remapped:
        return keys_display(app, remapped)
    return keys_display(app, binding.key, binding.key_display)


def key_for(app: App[Any], command_id: str) -> str:
    """The key a user presses now for a registry command ("e", or "E" after a remap);
    "" for a palette-only command. Hints such as the workload bar's "(e)" call this."""
    item = command(command_id)
    remapped = active_keymap(app).get(item.binding_id)
    if remapped:
        return keys_display(app, remapped)
    return keys_display(app, item.key, item.key_display) if item.key else ""


# -- checking a keymap -----------------------------------------------------------------------

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
KEY_NAMES = frozenset(key.value for key in Keys)


def key_problem(key: str) -> str | None:
    """Why one key ("ctrl+x", "E", "f5", "question_mark") cannot be typed; None if it can."""
    *modifiers, name = key.strip().split("+")
    if not name:
        return f"{key!r} names no key"
    unknown = [modifier for modifier in modifiers if modifier.lower() not in MODIFIERS]
    if unknown:
        return f"{key!r}: {', '.join(map(repr, unknown))} is not a modifier " \
               f"({', '.join(sorted(MODIFIERS))})"
    if len(name) == 1 or name in KEY_NAMES or name.lower() in KEY_NAMES:
        return None
    try:
        unicodedata.lookup(_get_unicode_name_from_key(name))
    except KeyError:
        return f"{key!r} is not a key Textual knows (e.g. \"E\", \"ctrl+x\", \"f5\", " \
               "\"question_mark\")"
    return None


def known_binding_ids() -> frozenset[str]:
    """Every binding id a keymap can name: the registry's and the dialogs' (`gpufit.*`), and
    those Textual's widgets declare, collected from the classes loaded now."""
    ids = {item.binding_id for item in COMMANDS}
    pending: list[type[DOMNode]] = [DOMNode]
    while pending:
        node_type = pending.pop()
        pending.extend(node_type.__subclasses__())
        for binding in Binding.make_bindings(node_type.__dict__.get("BINDINGS", [])):
            if binding.id:
                ids.add(binding.id)
    return frozenset(ids)


def check_keymap(keymap: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The entries of a `[keymap]` table that can be applied, and one problem per entry that
    cannot (an unknown binding id, a key that cannot be typed)."""
    known = known_binding_ids()
    usable: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in keymap.items():
        if binding_id not in known:
            close = sorted(known_id for known_id in known
                           if binding_id.removeprefix("gpufit.") in known_id)[:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else \
                " (the help screen, ?, lists the ids)"
            problems.append(f"[keymap] {binding_id!r} is not a binding id{hint}; ignored it.")
            continue
        bad = [problem for key in keys.split(",") if (problem := key_problem(key))]
        if bad:
            problems.append(f"[keymap] {binding_id}: {'; '.join(bad)}; ignored it.")
            continue
        usable[binding_id] = ",".join(_character_to_key(key.strip()) if len(key.strip()) == 1
                                      else key.strip() for key in keys.split(","))
    problems.extend(_taken_keys(usable))
    return usable, problems


def _taken_keys(usable: Mapping[str, str]) -> list[str]:
    """A remap onto a key a main-screen command keeps (not remapped itself) takes that key
    away from it: Textual applies it without a word, so say so."""
    problems = []
    for binding_id, keys in usable.items():
        for key in keys.split(","):
            for other in COMMANDS:
                if other.binding_id != binding_id and other.binding_id not in usable \
                        and key in other.key.split(","):
                    problems.append(f"[keymap] {binding_id} = {key!r} takes the key of "
                                    f"{other.binding_id}, which is left without one.")
    return problems
