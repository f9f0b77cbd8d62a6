"""Tool rules: which tools the model may call next, and what each call means for the loop.

An agent's tool rules (``Agent.tool_rules``, one JSON object per rule with the
fields of the ``ToolRule`` proto message) are read into a
:class:`ToolRulesSolver` at the start of every request, together with the names
of the tools attached to the agent. The loop then asks the solver, before each
model call, which tools are allowed (:meth:`ToolRulesSolver.allowed_tools`) and
whether a tool call must be forced (:meth:`ToolRulesSolver.must_call_tool`), and
after each executed call records it (:meth:`ToolRulesSolver.record_call`) and
asks what it means (:meth:`~ToolRulesSolver.is_terminal`,
:meth:`~ToolRulesSolver.forces_continue`, :meth:`~ToolRulesSolver.requires_approval`,
:meth:`~ToolRulesSolver.uncalled_required`).

The semantics follow Letta's ``ToolRulesSolver`` (see the research notes, section
4), with its rough edges made explicit:

``run_first``
    Before the first call of a request only the ``run_first`` tools may be called
    (several such rules add up), and a tool call is forced.
``exit_loop``
    Calling the tool ends the request (stop reason ``tool_rule``).
``continue_loop``
    Calling the tool makes the loop take another step.
``constrain_child_tools``
    Right after the tool, only ``children`` may be called, a call is forced and the
    loop continues.
``conditional``
    Right after the tool, its output picks the next tool through
    ``child_output_mapping``, else ``default_child``. With neither a match nor a
    default the next step is unconstrained, unless ``require_output_mapping`` is
    set: then no tool may be called at all (the model has to answer in text).
``max_count_per_step``
    Once the tool has been called ``max_count_limit`` times in this request, it
    is no longer allowed.
``parent_last_tool``
    ``tool_name`` is the parent, ``children`` are the guarded tools: the children
    may only be called immediately after the parent. Right after the parent, as
    in Letta, only its children are allowed and a call is forced. A tool guarded
    by several parents may follow any of them.
``required_before_exit``
    The request may not end until the tool has been called. This forces the loop
    to *continue* (the loop adds a reminder message), never a tool *call*.
``requires_approval``
    Calls to the tool are not executed but wait for a client's approval.

Unknown rule types, and rules without a ``tool_name``, are ignored: rules are
validated when they are written, and an old or foreign rule must not break a
request.

When the constraints in force cannot all be met (they contradict each other, or
they name tools the agent no longer has), the solver relaxes them rather than
leave the model with nothing to call, as Letta does; see
:meth:`ToolRulesSolver.allowed_tools`. Two things are never relaxed: a tool past
its ``max_count_per_step`` limit, and a strict ``conditional`` rule whose output
matched nothing.

The solver is pure: no I/O, no clock, and the same inputs give the same answers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CONDITIONAL",
    "CONSTRAIN_CHILD_TOOLS",
    "CONTINUE_LOOP",
    "EXIT_LOOP",
    "MAX_COUNT_PER_STEP",
    "PARENT_LAST_TOOL",
    "REQUIRED_BEFORE_EXIT",
    "REQUIRES_APPROVAL",
    "RULE_TYPES",
    "RUN_FIRST",
    "ToolRulesSolver",
]

RUN_FIRST: Final = "run_first"
EXIT_LOOP: Final = "exit_loop"
CONTINUE_LOOP: Final = "continue_loop"
CONSTRAIN_CHILD_TOOLS: Final = "constrain_child_tools"
CONDITIONAL: Final = "conditional"
MAX_COUNT_PER_STEP: Final = "max_count_per_step"
PARENT_LAST_TOOL: Final = "parent_last_tool"
REQUIRED_BEFORE_EXIT: Final = "required_before_exit"
REQUIRES_APPROVAL: Final = "requires_approval"

# Every rule type the solver understands, in the order of the ToolRule proto comment.
RULE_TYPES: Final[tuple[str, ...]] = (
    RUN_FIRST,
    EXIT_LOOP,
    CONTINUE_LOOP,
    CONSTRAIN_CHILD_TOOLS,
    CONDITIONAL,
    MAX_COUNT_PER_STEP,
    PARENT_LAST_TOOL,
    REQUIRED_BEFORE_EXIT,
    REQUIRES_APPROVAL,
)

# Rules after whose tool the next step is constrained to specific tools.
_NEXT_STEP_RULES: Final = frozenset({CONSTRAIN_CHILD_TOOLS, CONDITIONAL, PARENT_LAST_TOOL})


@dataclass(frozen=True, slots=True)
class _Rule:
    """One parsed tool rule; fields that do not apply to its type keep their defaults."""

    type: str
    tool_name: str
    children: tuple[str, ...] = ()
    # (output, tool) pairs in the rule's order; outputs are strings.
    child_output_mapping: tuple[tuple[str, str], ...] = ()
    default_child: str | None = None
    require_output_mapping: bool = False
    max_count_limit: int | None = None
    prompt_template: str | None = None


@dataclass(frozen=True, slots=True)
class _Decision:
    """What the rules say about the next model call, with the reasons behind it."""

    allowed: tuple[str, ...]
    # A positive constraint ("call one of these next") is in force and satisfiable.
    forced: bool
    # Positive constraints considered: (tools wanted next, why), before relaxation.
    positives: tuple[tuple[frozenset[str], str], ...]
    # Tools excluded by parent_last_tool rules, with why.
    negatives: Mapping[str, str]
    # Tools past their max_count_per_step limit, with why.
    exhausted: Mapping[str, str]
    # Set when a strict conditional rule forbids every tool: why.
    forbid_all: str | None
    # 0: every constraint met; 1: conflicting "next" constraints merged; 2: "next"
    # constraints dropped; 3: parent exclusions dropped too.
    relaxation: int


class ToolRulesSolver:
    """Answers the agent loop's questions about tool rules, for one request.

    Build one per request, record every executed tool call with
    :meth:`record_call`, and ask before each model call.

    Args:
        rules: The agent's tool rules, as dicts with the ``ToolRule`` JSON fields
            (``type``, ``tool_name``, ``children``, ``child_output_mapping``,
            ``default_child``, ``require_output_mapping``, ``max_count_limit``,
            ``prompt_template``). Unknown types and malformed rules are ignored.
        tool_names: Names of the tools the agent can call in this request, in the
            order they should be offered to the model.
        approval_tools: Extra tools whose calls need approval, typically those
            whose ``default_requires_approval`` is true.
    """

    __slots__ = ("_approval", "_history", "_last_output", "_rules", "_tools")

    def __init__(
        self,
        rules: Iterable[Mapping[str, Any]] | None = (),
        tool_names: Iterable[str] = (),
        approval_tools: set[str] | frozenset[str] | None = None,
    ) -> None:
        parsed = (_parse_rule(raw) for raw in rules or ())
        self._rules: tuple[_Rule, ...] = tuple(rule for rule in parsed if rule is not None)
        self._tools: tuple[str, ...] = tuple(
            dict.fromkeys(name for name in tool_names if isinstance(name, str) and name)
        )
        self._approval: frozenset[str] = frozenset(approval_tools or ()) | {
            rule.tool_name for rule in self._rules if rule.type == REQUIRES_APPROVAL
        }
        self._history: list[str] = []
        self._last_output: str | None = None

    def __repr__(self) -> str:
        return f"ToolRulesSolver(rules={self.rules!r}, tool_names={list(self._tools)!r}, history={self._history!r})"

    @property
    def rules(self) -> list[dict[str, Any]]:
        """The rules in use, normalised (ignored rules left out)."""
        return [_rule_dict(rule) for rule in self._rules]

    @property
    def tool_names(self) -> list[str]:
        """The agent's tool names, in order, without duplicates."""
        return list(self._tools)

    # -- state ----------------------------------------------------------------

    @property
    def history(self) -> tuple[str, ...]:
        """Names of the tools called so far in this request, oldest first."""
        return tuple(self._history)

    @property
    def last_output(self) -> str | None:
        """Output of the most recent recorded call (``None`` if none or unknown)."""
        return self._last_output

    def record_call(self, name: str, output: str | None) -> None:
        """Record that the tool ``name`` was called and returned ``output``.

        Record the calls that were actually executed (successfully or not), not
        the ones refused because of a rule violation, so that a refused call does
        not count against ``max_count_per_step`` or change what comes next.

        Args:
            name: The tool's name.
            output: What the tool returned, as text: either the raw return value
                or the ``{"status": ..., "message": ...}`` envelope the model reads
                (``conditional`` rules look inside the envelope). ``None`` when
                there is no output.
        """
        self._history.append(name)
        self._last_output = output

    # -- what may be called next ---------------------------------------------

    def allowed_tools(self) -> list[str]:
        """Names of the tools the model may call at the next step, in agent order.

        The constraints are: ``run_first`` (before any call), the
        ``constrain_child_tools``, ``conditional`` and ``parent_last_tool`` rules
        of the last tool called (each gives a set of tools wanted next), the
        exclusions of ``parent_last_tool`` rules (guarded tools not right after
        their parent) and ``max_count_per_step`` limits. With no constraint every
        tool is allowed.

        Edge cases, decided so that the model is never left with nothing to call
        unless the rules really mean it:

        * When the "wanted next" sets have nothing in common, their union is used
          (each rule that wants something gets a chance).
        * When no wanted tool is available (for example a ``run_first`` tool that
          was detached from the agent, or a child past its count limit), those
          constraints are dropped; then, if needed, the ``parent_last_tool``
          exclusions too.
        * A tool past its ``max_count_per_step`` limit is never allowed again in
          the request: if every tool is past its limit, the list is empty.
        * A ``conditional`` rule with ``require_output_mapping`` whose output
          matched no case and that has no ``default_child`` allows nothing: the
          list is empty and the model has to answer without a tool.
        * An agent without tools gets an empty list.
        """
        return list(self._decide().allowed)

    def must_call_tool(self) -> bool:
        """Whether the next model call must call a tool (``tool_choice=required``).

        True before the first call when ``run_first`` rules exist, and right after
        a tool that owns a ``constrain_child_tools`` rule, a ``conditional`` rule
        that picked a tool (by mapping or ``default_child``) or a
        ``parent_last_tool`` rule, as long as a tool it wants is available. Uncalled
        ``required_before_exit`` tools do not force a call: they only keep the loop
        going (see :meth:`uncalled_required`). Never true when no tool is allowed.
        """
        decision = self._decide()
        return decision.forced and bool(decision.allowed)

    def violation(self, name: str) -> str | None:
        """A message for the model when it calls ``name`` although it may not, else ``None``.

        The message says why the call was refused and which tools may be called
        now (or that none may).
        """
        decision = self._decide()
        if name in decision.allowed:
            return None
        reason = self._reason(name, decision)
        if decision.allowed:
            hint = "Tools you may call now: " + ", ".join(decision.allowed) + "."
        else:
            hint = "No tool may be called now: answer without calling a tool."
        return f"Tool rule violation: `{name}` cannot be called now ({reason}). {hint}"

    # -- what a call means ------------------------------------------------------

    def is_terminal(self, name: str) -> bool:
        """Whether calling ``name`` ends the request (an ``exit_loop`` rule).

        A terminal tool wins over :meth:`forces_continue` when a tool is both. The
        loop must still check :meth:`uncalled_required`: the request may not end
        while a ``required_before_exit`` tool has not been called.
        """
        return any(rule.type == EXIT_LOOP and rule.tool_name == name for rule in self._rules)

    def forces_continue(self, name: str) -> bool:
        """Whether calling ``name`` requires the loop to take another step.

        True for ``continue_loop`` tools and for tools that own a
        ``constrain_child_tools``, ``conditional`` or ``parent_last_tool`` rule (the
        next step is constrained, so it has to happen). See :meth:`is_terminal`
        for precedence.
        """
        return any(
            rule.tool_name == name and (rule.type == CONTINUE_LOOP or rule.type in _NEXT_STEP_RULES)
            for rule in self._rules
        )

    def requires_approval(self, name: str) -> bool:
        """Whether a call to ``name`` waits for a client's approval instead of running."""
        return name in self._approval

    def uncalled_required(self) -> list[str]:
        """``required_before_exit`` tools not called yet in this request, in rule order.

        Only tools the agent has count: a required tool that was detached cannot
        be called and must not keep the loop running forever.
        """
        called = set(self._history)
        tools = set(self._tools)
        names = (
            rule.tool_name
            for rule in self._rules
            if rule.type == REQUIRED_BEFORE_EXIT and rule.tool_name in tools and rule.tool_name not in called
        )
        return list(dict.fromkeys(names))

    def can_exit(self) -> bool:
        """Whether the request may end now (every ``required_before_exit`` tool was called)."""
        return not self.uncalled_required()

    def allows_parallel_calls(self) -> bool:
        """Whether several tool calls in one step are compatible with the rules.

        As in Letta, only when the agent has no rule other than ``requires_approval``:
        the other rules reason about the order of calls.
        """
        return all(rule.type == REQUIRES_APPROVAL for rule in self._rules)

    # -- prompt -------------------------------------------------------------------

    def usage_rules_text(self) -> str:
        """The rules as short lines for the system prompt; ``""`` when none renders.

        A rule's ``prompt_template`` is used when given (``{{ tool_name }}``,
        ``{{ children | join(', ') }}`` and the other rule fields are filled in),
        otherwise a default sentence for its type. ``requires_approval`` rules have
        no default sentence (approval is the client's business, not the model's).
        Rules about tools the agent does not have are left out, and so are
        children and outcomes that name such tools.
        """
        tools = set(self._tools)
        lines: list[str] = []
        for rule in self._rules:
            if rule.tool_name not in tools:
                continue
            text = _render_rule(rule, tools)
            if text and text not in lines:
                lines.append(text)
        return "\n".join(lines)

    # -- internals -----------------------------------------------------------------

    def _decide(self) -> _Decision:
        tools = self._tools
        last = self._history[-1] if self._history else None

        exhausted: dict[str, str] = {}
        for rule in self._rules:
            if rule.type != MAX_COUNT_PER_STEP or rule.max_count_limit is None:
                continue
            count = self._history.count(rule.tool_name)
            if count >= rule.max_count_limit:
                exhausted.setdefault(
                    rule.tool_name,
                    f"it was already called {count} time(s) in this request, "
                    f"and its limit is {rule.max_count_limit}",
                )

        positives: list[tuple[frozenset[str], str]] = []
        forbid_all: str | None = None
        if last is None:
            first = tuple(dict.fromkeys(r.tool_name for r in self._rules if r.type == RUN_FIRST))
            if first:
                positives.append((frozenset(first), "the first tool call must be one of: " + ", ".join(first)))
        else:
            for rule in self._rules:
                if rule.tool_name != last:
                    continue
                if rule.type in (CONSTRAIN_CHILD_TOOLS, PARENT_LAST_TOOL):
                    positives.append(
                        (frozenset(rule.children), f"after `{last}` you must call one of: " + ", ".join(rule.children))
                    )
                elif rule.type == CONDITIONAL:
                    target = _resolve_conditional(rule, self._last_output)
                    if target is not None:
                        positives.append((frozenset({target}), f"the result of `{last}` means `{target}` comes next"))
                    elif rule.require_output_mapping:
                        forbid_all = f"the result of `{last}` matched none of the cases of its conditional rule"

        parents: dict[str, list[str]] = {}
        for rule in self._rules:
            if rule.type == PARENT_LAST_TOOL:
                for child in rule.children:
                    parents.setdefault(child, [])
                    if rule.tool_name not in parents[child]:
                        parents[child].append(rule.tool_name)
        negatives = {
            child: f"`{child}` may only be called right after " + " or ".join(f"`{p}`" for p in ps)
            for child, ps in parents.items()
            if last not in ps
        }

        def finish(allowed: Iterable[str], forced: bool, relaxation: int) -> _Decision:
            return _Decision(
                allowed=tuple(allowed),
                forced=forced,
                positives=tuple(positives),
                negatives=negatives,
                exhausted=exhausted,
                forbid_all=forbid_all,
                relaxation=relaxation,
            )

        if forbid_all is not None:
            return finish((), False, 0)
        base = [t for t in tools if t not in exhausted]
        unguarded = [t for t in base if t not in negatives]
        if not positives:
            if unguarded:
                return finish(unguarded, False, 0)
            return finish(base, False, 3)
        wanted = frozenset.intersection(*(tools_ for tools_, _ in positives))
        allowed = [t for t in unguarded if t in wanted]
        if allowed:
            return finish(allowed, True, 0)
        wanted = frozenset.union(*(tools_ for tools_, _ in positives))
        allowed = [t for t in unguarded if t in wanted]
        if allowed:
            return finish(allowed, True, 1)
        if unguarded:
            return finish(unguarded, False, 2)
        return finish(base, False, 3)

    def _reason(self, name: str, decision: _Decision) -> str:
        if name not in self._tools:
            return "it is not one of your tools"
        if decision.forbid_all is not None:
            return decision.forbid_all
        if name in decision.exhausted:
            return decision.exhausted[name]
        if decision.relaxation < 3 and name in decision.negatives:
            return decision.negatives[name]
        if decision.relaxation < 2:
            for tools, why in decision.positives:
                if name not in tools:
                    return why
        return "the tool rules do not allow it at this point"


# -- parsing ---------------------------------------------------------------------


def _parse_rule(raw: Any) -> _Rule | None:
    """A rule from its JSON form, or ``None`` when it is unknown or unusable."""
    if not isinstance(raw, Mapping):
        return None
    kind = raw.get("type")
    name = raw.get("tool_name")
    if kind not in RULE_TYPES or not isinstance(name, str) or not name:
        return None
    template = raw.get("prompt_template")
    template = template if isinstance(template, str) and template.strip() else None
    children = _names(raw.get("children"))
    if kind in (CONSTRAIN_CHILD_TOOLS, PARENT_LAST_TOOL):
        if not children:
            return None
        return _Rule(kind, name, children=children, prompt_template=template)
    if kind == CONDITIONAL:
        mapping = raw.get("child_output_mapping")
        pairs: list[tuple[str, str]] = []
        if isinstance(mapping, Mapping):
            for key, tool in mapping.items():
                if isinstance(tool, str) and tool:
                    pairs.append((_key_text(key), tool))
        default = raw.get("default_child")
        default = default if isinstance(default, str) and default else None
        if not pairs and default is None:
            return None
        return _Rule(
            kind,
            name,
            child_output_mapping=tuple(pairs),
            default_child=default,
            require_output_mapping=raw.get("require_output_mapping") is True,
            prompt_template=template,
        )
    if kind == MAX_COUNT_PER_STEP:
        limit = _positive_int(raw.get("max_count_limit"))
        if limit is None:
            return None
        return _Rule(kind, name, max_count_limit=limit, prompt_template=template)
    return _Rule(kind, name, prompt_template=template)


def _rule_dict(rule: _Rule) -> dict[str, Any]:
    """The normalised JSON form of a parsed rule (fields that apply only)."""
    out: dict[str, Any] = {"type": rule.type, "tool_name": rule.tool_name}
    if rule.children:
        out["children"] = list(rule.children)
    if rule.child_output_mapping:
        out["child_output_mapping"] = dict(rule.child_output_mapping)
    if rule.default_child is not None:
        out["default_child"] = rule.default_child
    if rule.type == CONDITIONAL:
        out["require_output_mapping"] = rule.require_output_mapping
    if rule.max_count_limit is not None:
        out["max_count_limit"] = rule.max_count_limit
    if rule.prompt_template is not None:
        out["prompt_template"] = rule.prompt_template
    return out


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        return ()
    return tuple(dict.fromkeys(v for v in value if isinstance(v, str) and v))


def _positive_int(value: Any) -> int | None:
    """``value`` as a positive int (ints, integral floats and digit strings), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value >= 1 else None


def _key_text(key: Any) -> str:
    """A mapping key as text: booleans as ``true``/``false``, the rest through ``str``."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


# -- conditional rules -------------------------------------------------------------


def _resolve_conditional(rule: _Rule, output: str | None) -> str | None:
    """The tool a conditional rule picks for ``output``: mapped, else default, else ``None``."""
    candidates = _output_candidates(output)
    for key, tool in rule.child_output_mapping:
        if key in candidates:
            return tool
    for key, tool in rule.child_output_mapping:
        if any(_loosely_equal(candidate, key) for candidate in candidates):
            return tool
    return rule.default_child


def _output_candidates(output: Any, *, depth: int = 0) -> list[str]:
    """The texts a tool output may be matched on.

    The output itself, stripped; if it is JSON, the decoded value as text
    (strings unquoted, booleans as ``true``/``false``); if it is the
    ``{"status", "message"}`` envelope of a tool result, the same for its
    ``message``.
    """
    if output is None or depth > 2:
        return []
    if not isinstance(output, str):
        output = _key_text(output) if isinstance(output, bool | int | float) else json.dumps(output)
    out = [output]
    stripped = output.strip()
    if stripped != output:
        out.append(stripped)
    try:
        decoded = json.loads(stripped)
    except (ValueError, RecursionError):
        return out
    if isinstance(decoded, dict) and "message" in decoded and "status" in decoded:
        out.extend(_output_candidates(decoded["message"], depth=depth + 1))
    elif isinstance(decoded, str):
        out.append(decoded)
    elif isinstance(decoded, bool):
        out.append(_key_text(decoded))
    elif decoded is not None:
        out.append(str(decoded))
    return list(dict.fromkeys(out))


def _loosely_equal(output: str, key: str) -> bool:
    """Equality after normalisation: surrounding spaces, boolean case, numeric value."""
    a, b = output.strip(), key.strip()
    if a == b:
        return True
    if b.lower() in ("true", "false"):
        return a.lower() == b.lower()
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isfinite(x) and x == y


# -- prompt rendering ------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"\{\{\s*(?P<name>[A-Za-z_]\w*)\s*(?:\|\s*join\(\s*(?P<q>['\"])(?P<sep>.*?)(?P=q)\s*\)\s*)?\}\}"
)


def _render_rule(rule: _Rule, tools: set[str]) -> str | None:
    """The prompt line of one rule, or ``None`` when it has none."""
    children = [c for c in rule.children if c in tools]
    outcomes = [(k, t) for k, t in rule.child_output_mapping if t in tools]
    default = rule.default_child if rule.default_child in tools else None
    if rule.prompt_template is not None:
        return _fill_template(rule, children, outcomes, default)
    name = f"`{rule.tool_name}`"
    listed = ", ".join(f"`{c}`" for c in children)
    match rule.type:
        case "run_first":
            return f"- Call {name} first, before any other tool."
        case "exit_loop":
            return f"- Calling {name} ends your turn and hands control back."
        case "continue_loop":
            return f"- After calling {name}, keep going: you get another step to continue your response."
        case "constrain_child_tools" if children:
            return f"- After calling {name}, your next call must be one of: {listed}."
        case "conditional" if outcomes or default:
            cases = [f"'{k}' → `{t}`" for k, t in outcomes]
            if default:
                cases.append(f"anything else → `{default}`")
            return f"- The result of {name} decides which tool you call next: " + "; ".join(cases) + "."
        case "max_count_per_step":
            return f"- Call {name} at most {rule.max_count_limit} time(s) per request."
        case "parent_last_tool" if children:
            return f"- {listed} may only be called right after {name}."
        case "required_before_exit":
            return f"- You must call {name} at least once before ending your turn."
    return None


def _fill_template(rule: _Rule, children: list[str], outcomes: list[tuple[str, str]], default: str | None) -> str:
    """Fill a rule's prompt template.

    Only ``{{ field }}`` and ``{{ field | join('sep') }}`` are understood (a safe
    subset of the Jinja2 syntax Letta's templates use); anything else, including
    unknown fields, is left as written.
    """
    values: dict[str, Any] = {
        "type": rule.type,
        "tool_name": rule.tool_name,
        "children": children,
        "child_output_mapping": dict(outcomes),
        "default_child": default or "",
        "require_output_mapping": rule.require_output_mapping,
        "max_count_limit": rule.max_count_limit if rule.max_count_limit is not None else "",
    }

    def substitute(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in values:
            return match.group(0)
        value = values[name]
        sep = match.group("sep")
        if isinstance(value, dict):
            return (", " if sep is None else sep).join(f"{k} → {v}" for k, v in value.items())
        if isinstance(value, list):
            return (", " if sep is None else sep).join(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    text = _PLACEHOLDER.sub(substitute, rule.prompt_template or "").strip()
    return text or None
