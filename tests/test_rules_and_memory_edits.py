"""Unit tests of the tool-rules solver and the memory-tool edits (pure code, no server)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mnemo_server.loop.memory_edits import (
    MEMORY_TOOLS,
    BlockState,
    MemoryEditError,
    core_memory_append,
    core_memory_replace,
    dispatch,
    memory_insert,
    memory_replace,
    memory_rethink,
)
from mnemo_server.loop.rules import RULE_TYPES, ToolRulesSolver
from mnemo_server.tools.builtin import BUILTIN_TOOLS

TOOLS = ["send_message", "search", "fetch", "summarize", "decide", "memory_insert"]


def solver(*rules: dict[str, Any], tools: list[str] | None = None, approval: set[str] | None = None):
    return ToolRulesSolver(list(rules), TOOLS if tools is None else tools, approval_tools=approval)


# =====================================================================================
# Tool rules
# =====================================================================================


class TestNoRules:
    def test_everything_allowed_nothing_forced(self):
        s = solver()
        assert s.allowed_tools() == TOOLS
        assert not s.must_call_tool()
        assert s.violation("search") is None
        assert s.usage_rules_text() == ""
        assert s.uncalled_required() == []
        assert s.can_exit()
        assert s.allows_parallel_calls()
        for name in TOOLS:
            assert not s.is_terminal(name)
            assert not s.forces_continue(name)
            assert not s.requires_approval(name)

    def test_history_and_output_are_recorded(self):
        s = solver()
        s.record_call("search", "found")
        s.record_call("fetch", None)
        assert s.history == ("search", "fetch")
        assert s.last_output is None
        assert s.allowed_tools() == TOOLS

    def test_tool_names_are_deduplicated_in_order(self):
        s = ToolRulesSolver([], ["b", "a", "b", "", "c"])
        assert s.allowed_tools() == ["b", "a", "c"]
        assert s.tool_names == ["b", "a", "c"]

    def test_no_tools_gives_empty_list(self):
        s = ToolRulesSolver([{"type": "run_first", "tool_name": "x"}], [])
        assert s.allowed_tools() == []
        assert not s.must_call_tool()

    def test_unknown_and_malformed_rules_are_ignored(self):
        s = solver(
            {"type": "teleport", "tool_name": "search"},
            {"type": "run_first"},
            {"type": "run_first", "tool_name": ""},
            {"type": "constrain_child_tools", "tool_name": "search", "children": []},
            {"type": "constrain_child_tools", "tool_name": "search", "children": "fetch"},
            {"type": "max_count_per_step", "tool_name": "search", "max_count_limit": 0},
            {"type": "max_count_per_step", "tool_name": "search", "max_count_limit": True},
            {"type": "max_count_per_step", "tool_name": "search"},
            {"type": "conditional", "tool_name": "decide"},
            "not a dict",
            None,
        )
        assert s.rules == []
        assert s.allowed_tools() == TOOLS
        s.record_call("search", "x")
        assert s.allowed_tools() == TOOLS
        assert s.usage_rules_text() == ""

    def test_rule_types_match_the_core(self):
        from mnemo_server.core.agents import RULE_TYPES as CORE_RULE_TYPES

        assert set(RULE_TYPES) == set(CORE_RULE_TYPES)

    def test_none_rules(self):
        s = ToolRulesSolver(None, TOOLS)
        assert s.allowed_tools() == TOOLS and s.rules == []

    def test_accepts_iterators(self):
        s = ToolRulesSolver(iter([{"type": "exit_loop", "tool_name": "send_message"}]), iter(TOOLS))
        assert s.is_terminal("send_message")
        assert s.allowed_tools() == TOOLS
        assert s.allowed_tools() == TOOLS


class TestRunFirst:
    def test_only_init_tools_before_first_call_and_forced(self):
        s = solver({"type": "run_first", "tool_name": "search"})
        assert s.allowed_tools() == ["search"]
        assert s.must_call_tool()
        assert not s.forces_continue("search")

    def test_released_after_first_call(self):
        s = solver({"type": "run_first", "tool_name": "search"})
        s.record_call("search", "ok")
        assert s.allowed_tools() == TOOLS
        assert not s.must_call_tool()

    def test_several_init_rules_add_up(self):
        s = solver({"type": "run_first", "tool_name": "fetch"}, {"type": "run_first", "tool_name": "search"})
        assert s.allowed_tools() == ["search", "fetch"]  # agent order
        assert s.must_call_tool()

    def test_violation_message(self):
        s = solver({"type": "run_first", "tool_name": "search"})
        msg = s.violation("fetch")
        assert msg is not None
        assert "`fetch`" in msg and "first" in msg and "search" in msg
        assert s.violation("search") is None

    def test_detached_init_tool_is_relaxed(self):
        s = solver({"type": "run_first", "tool_name": "gone"})
        assert s.allowed_tools() == TOOLS
        assert not s.must_call_tool()

    def test_init_constraint_only_applies_before_any_call(self):
        s = solver({"type": "run_first", "tool_name": "search"})
        s.record_call("fetch", "x")  # e.g. a call approved by the client: history is no longer empty
        assert s.allowed_tools() == TOOLS


class TestExitAndContinue:
    def test_exit_loop(self):
        s = solver({"type": "exit_loop", "tool_name": "send_message"})
        assert s.is_terminal("send_message")
        assert not s.is_terminal("search")
        assert not s.forces_continue("send_message")
        assert s.allowed_tools() == TOOLS
        assert not s.must_call_tool()
        assert not s.allows_parallel_calls()

    def test_continue_loop(self):
        s = solver({"type": "continue_loop", "tool_name": "search"})
        assert s.forces_continue("search")
        assert not s.forces_continue("fetch")
        assert not s.is_terminal("search")
        s.record_call("search", "ok")
        assert s.allowed_tools() == TOOLS
        assert not s.must_call_tool()  # continuing does not mean a tool call is forced


class TestConstrainChild:
    RULE = {"type": "constrain_child_tools", "tool_name": "search", "children": ["fetch", "summarize"]}

    def test_only_children_after_parent(self):
        s = solver(self.RULE)
        assert s.allowed_tools() == TOOLS
        assert not s.must_call_tool()
        s.record_call("search", "results")
        assert s.allowed_tools() == ["fetch", "summarize"]
        assert s.must_call_tool()
        assert s.forces_continue("search")
        msg = s.violation("send_message")
        assert msg is not None and "after `search`" in msg and "fetch, summarize" in msg
        assert s.violation("fetch") is None

    def test_released_after_child(self):
        s = solver(self.RULE)
        s.record_call("search", "r")
        s.record_call("fetch", "page")
        assert s.allowed_tools() == TOOLS
        assert not s.must_call_tool()

    def test_children_missing_from_agent_are_dropped(self):
        s = solver({"type": "constrain_child_tools", "tool_name": "search", "children": ["gone", "fetch"]})
        s.record_call("search", "r")
        assert s.allowed_tools() == ["fetch"]

    def test_all_children_missing_relaxes_to_all_tools(self):
        s = solver({"type": "constrain_child_tools", "tool_name": "search", "children": ["gone"]})
        s.record_call("search", "r")
        assert s.allowed_tools() == TOOLS
        assert not s.must_call_tool()

    def test_two_child_rules_intersect(self):
        s = solver(
            self.RULE,
            {"type": "constrain_child_tools", "tool_name": "search", "children": ["summarize", "decide"]},
        )
        s.record_call("search", "r")
        assert s.allowed_tools() == ["summarize"]
        assert s.must_call_tool()

    def test_disjoint_child_rules_fall_back_to_their_union(self):
        s = solver(
            {"type": "constrain_child_tools", "tool_name": "search", "children": ["fetch"]},
            {"type": "constrain_child_tools", "tool_name": "search", "children": ["decide"]},
        )
        s.record_call("search", "r")
        assert s.allowed_tools() == ["fetch", "decide"]
        assert s.must_call_tool()


class TestConditional:
    RULE = {
        "type": "conditional",
        "tool_name": "decide",
        "child_output_mapping": {"yes": "fetch", "no": "summarize", "true": "search", "3": "send_message"},
        "default_child": "memory_insert",
    }

    def after(self, output: str | None, rule: dict[str, Any] | None = None) -> ToolRulesSolver:
        s = solver(rule or self.RULE)
        s.record_call("decide", output)
        return s

    def test_no_constraint_before_the_tool(self):
        s = solver(self.RULE)
        assert s.allowed_tools() == TOOLS
        assert s.forces_continue("decide")

    @pytest.mark.parametrize(
        ("output", "expected"),
        [
            ("yes", "fetch"),
            ("no", "summarize"),
            ("  yes\n", "fetch"),
            ('"yes"', "fetch"),  # JSON string
            ("true", "search"),
            ("True", "search"),  # Python-style boolean
            ("TRUE", "search"),
            ("3", "send_message"),
            ("3.0", "send_message"),  # numeric normalisation
            ('{"status": "OK", "message": "no", "time": "x"}', "summarize"),  # tool-result envelope
            ('{"status": "OK", "message": true}', "search"),
            ("maybe", "memory_insert"),  # default
            ("", "memory_insert"),
            (None, "memory_insert"),
            ("Yes", "memory_insert"),  # strings are case-sensitive
        ],
    )
    def test_output_picks_child(self, output, expected):
        s = self.after(output)
        assert s.allowed_tools() == [expected]
        assert s.must_call_tool()

    def test_exact_match_wins_over_normalised(self):
        rule = {"type": "conditional", "tool_name": "decide", "child_output_mapping": {"1": "fetch", "1.0": "search"}}
        assert self.after("1.0", rule).allowed_tools() == ["search"]
        assert self.after("1", rule).allowed_tools() == ["fetch"]

    def test_boolean_keys_from_dicts_are_normalised(self):
        rule = {"type": "conditional", "tool_name": "decide", "child_output_mapping": {True: "fetch", False: "search"}}
        assert self.after("true", rule).allowed_tools() == ["fetch"]
        assert self.after("False", rule).allowed_tools() == ["search"]

    def test_no_match_without_default_is_unconstrained(self):
        rule = {"type": "conditional", "tool_name": "decide", "child_output_mapping": {"yes": "fetch"}}
        s = self.after("no", rule)
        assert s.allowed_tools() == TOOLS
        assert not s.must_call_tool()

    def test_default_only(self):
        rule = {"type": "conditional", "tool_name": "decide", "default_child": "fetch"}
        assert self.after("anything", rule).allowed_tools() == ["fetch"]

    def test_strict_no_match_forbids_every_tool(self):
        rule = {
            "type": "conditional",
            "tool_name": "decide",
            "child_output_mapping": {"yes": "fetch"},
            "require_output_mapping": True,
        }
        s = self.after("no", rule)
        assert s.allowed_tools() == []
        assert not s.must_call_tool()
        msg = s.violation("fetch")
        assert msg is not None and "No tool may be called" in msg and "matched none" in msg
        # A match is still honoured in strict mode.
        assert self.after("yes", rule).allowed_tools() == ["fetch"]

    def test_strict_with_default_uses_default(self):
        rule = {
            "type": "conditional",
            "tool_name": "decide",
            "child_output_mapping": {"yes": "fetch"},
            "default_child": "search",
            "require_output_mapping": True,
        }
        assert self.after("no", rule).allowed_tools() == ["search"]

    def test_violation_names_the_picked_tool(self):
        s = self.after("yes")
        msg = s.violation("search")
        assert msg is not None and "`fetch`" in msg and "result of `decide`" in msg

    def test_only_applies_right_after_its_tool(self):
        s = self.after("yes")
        s.record_call("fetch", "page")
        assert s.allowed_tools() == TOOLS


class TestMaxCount:
    RULE = {"type": "max_count_per_step", "tool_name": "search", "max_count_limit": 2}

    def test_tool_removed_at_limit(self):
        s = solver(self.RULE)
        s.record_call("search", "1")
        assert "search" in s.allowed_tools()
        s.record_call("fetch", "x")
        s.record_call("search", "2")
        assert s.allowed_tools() == [t for t in TOOLS if t != "search"]
        assert not s.must_call_tool()
        msg = s.violation("search")
        assert msg is not None and "2 time(s)" in msg and "limit is 2" in msg
        assert not s.forces_continue("search")

    def test_limit_given_as_string_or_float(self):
        for limit in ("1", 1.0):
            s = solver({"type": "max_count_per_step", "tool_name": "search", "max_count_limit": limit})
            s.record_call("search", "1")
            assert "search" not in s.allowed_tools()

    def test_exhausted_child_is_not_reallowed(self):
        s = solver(
            {"type": "constrain_child_tools", "tool_name": "search", "children": ["fetch"]},
            {"type": "max_count_per_step", "tool_name": "fetch", "max_count_limit": 1},
        )
        s.record_call("search", "r")
        assert s.allowed_tools() == ["fetch"]
        s.record_call("fetch", "p")
        s.record_call("search", "r")
        # The child is used up: the constraint is dropped, but fetch stays forbidden.
        assert s.allowed_tools() == [t for t in TOOLS if t != "fetch"]
        assert not s.must_call_tool()
        assert "limit is 1" in (s.violation("fetch") or "")

    def test_every_tool_exhausted_gives_empty_list(self):
        tools = ["a", "b"]
        s = solver(
            {"type": "max_count_per_step", "tool_name": "a", "max_count_limit": 1},
            {"type": "max_count_per_step", "tool_name": "b", "max_count_limit": 1},
            tools=tools,
        )
        s.record_call("a", None)
        s.record_call("b", None)
        assert s.allowed_tools() == []
        assert not s.must_call_tool()
        assert "No tool may be called" in (s.violation("a") or "")


class TestParentLastTool:
    RULE = {"type": "parent_last_tool", "tool_name": "search", "children": ["fetch", "summarize"]}

    def test_children_only_right_after_parent(self):
        s = solver(self.RULE)
        assert s.allowed_tools() == ["send_message", "search", "decide", "memory_insert"]
        assert not s.must_call_tool()
        msg = s.violation("fetch")
        assert msg is not None and "right after `search`" in msg

        s.record_call("search", "r")
        assert s.allowed_tools() == ["fetch", "summarize"]
        assert s.must_call_tool()
        assert s.forces_continue("search")

        s.record_call("fetch", "p")
        assert "fetch" not in s.allowed_tools() and "summarize" not in s.allowed_tools()

    def test_child_of_several_parents_may_follow_any(self):
        s = solver(
            {"type": "parent_last_tool", "tool_name": "search", "children": ["fetch"]},
            {"type": "parent_last_tool", "tool_name": "decide", "children": ["fetch"]},
        )
        assert "fetch" not in s.allowed_tools()
        s.record_call("decide", "x")
        assert s.allowed_tools() == ["fetch"]
        s.record_call("fetch", "x")
        s.record_call("search", "x")
        assert s.allowed_tools() == ["fetch"]
        assert "`search` or `decide`" in (solver(
            {"type": "parent_last_tool", "tool_name": "search", "children": ["fetch"]},
            {"type": "parent_last_tool", "tool_name": "decide", "children": ["fetch"]},
        ).violation("fetch") or "")

    def test_every_tool_guarded_relaxes(self):
        s = solver({"type": "parent_last_tool", "tool_name": "x", "children": ["a", "b"]}, tools=["a", "b"])
        assert s.allowed_tools() == ["a", "b"]


class TestRequiredBeforeExit:
    def test_uncalled_required_and_continuation_only(self):
        s = solver(
            {"type": "required_before_exit", "tool_name": "summarize"},
            {"type": "required_before_exit", "tool_name": "memory_insert"},
            {"type": "required_before_exit", "tool_name": "summarize"},
        )
        assert s.uncalled_required() == ["summarize", "memory_insert"]
        assert not s.can_exit()
        # It never forces a tool call nor narrows the tools: only continuation.
        assert not s.must_call_tool()
        assert s.allowed_tools() == TOOLS
        s.record_call("summarize", "ok")
        assert s.uncalled_required() == ["memory_insert"]
        s.record_call("memory_insert", "ok")
        assert s.uncalled_required() == []
        assert s.can_exit()

    def test_detached_required_tool_does_not_block_exit(self):
        s = solver({"type": "required_before_exit", "tool_name": "gone"})
        assert s.uncalled_required() == []


class TestRequiresApproval:
    def test_rule_and_default_approval_tools(self):
        s = solver({"type": "requires_approval", "tool_name": "fetch"}, approval={"decide"})
        assert s.requires_approval("fetch")
        assert s.requires_approval("decide")
        assert not s.requires_approval("search")
        assert s.allowed_tools() == TOOLS
        assert s.allows_parallel_calls()  # approval rules do not order calls
        assert s.usage_rules_text() == ""  # approval is not the model's business

    def test_approval_template_is_rendered_when_given(self):
        s = solver({"type": "requires_approval", "tool_name": "fetch", "prompt_template": "{{ tool_name }} waits."})
        assert s.usage_rules_text() == "fetch waits."


class TestPipelines:
    def test_run_first_child_exit_pipeline(self):
        s = solver(
            {"type": "run_first", "tool_name": "search"},
            {"type": "constrain_child_tools", "tool_name": "search", "children": ["fetch"]},
            {"type": "constrain_child_tools", "tool_name": "fetch", "children": ["send_message"]},
            {"type": "exit_loop", "tool_name": "send_message"},
        )
        steps = []
        for name in ("search", "fetch", "send_message"):
            steps.append((s.allowed_tools(), s.must_call_tool()))
            assert s.violation(name) is None
            s.record_call(name, "ok")
            if name != "send_message":
                assert s.forces_continue(name) and not s.is_terminal(name)
        assert steps == [(["search"], True), (["fetch"], True), (["send_message"], True)]
        assert s.is_terminal("send_message")
        assert not s.allows_parallel_calls()

    def test_conditional_loop_with_max_count(self):
        s = solver(
            {"type": "run_first", "tool_name": "decide"},
            {
                "type": "conditional",
                "tool_name": "decide",
                "child_output_mapping": {"again": "decide", "done": "send_message"},
                "default_child": "search",
            },
            {"type": "max_count_per_step", "tool_name": "decide", "max_count_limit": 2},
            {"type": "exit_loop", "tool_name": "send_message"},
        )
        assert s.allowed_tools() == ["decide"]
        s.record_call("decide", "again")
        assert s.allowed_tools() == ["decide"]
        s.record_call("decide", "again")
        # The mapping wants decide again, but its count is used up: relaxed to the rest.
        assert "decide" not in s.allowed_tools()
        assert s.allowed_tools() == [t for t in TOOLS if t != "decide"]
        assert not s.must_call_tool()

    def test_child_and_parent_rules_on_the_same_tool_union(self):
        s = solver(
            {"type": "constrain_child_tools", "tool_name": "search", "children": ["fetch"]},
            {"type": "parent_last_tool", "tool_name": "search", "children": ["summarize"]},
        )
        s.record_call("search", "r")
        assert s.allowed_tools() == ["fetch", "summarize"]
        assert s.must_call_tool()

    def test_child_rule_conflicting_with_parent_guard(self):
        # After search only summarize is wanted, but summarize may only follow decide.
        s = solver(
            {"type": "constrain_child_tools", "tool_name": "search", "children": ["summarize"]},
            {"type": "parent_last_tool", "tool_name": "decide", "children": ["summarize"]},
        )
        s.record_call("search", "r")
        assert s.allowed_tools() == [t for t in TOOLS if t != "summarize"]
        assert not s.must_call_tool()

    def test_terminal_and_required_interplay(self):
        s = solver(
            {"type": "exit_loop", "tool_name": "send_message"},
            {"type": "required_before_exit", "tool_name": "memory_insert"},
        )
        s.record_call("send_message", "sent")
        assert s.is_terminal("send_message")
        assert s.uncalled_required() == ["memory_insert"]  # the loop must keep going

    def test_not_a_tool_violation(self):
        s = solver()
        msg = s.violation("nope")
        assert msg is not None and "not one of your tools" in msg and "search" in msg


class TestUsageRulesText:
    def test_default_sentences(self):
        s = solver(
            {"type": "run_first", "tool_name": "search"},
            {"type": "exit_loop", "tool_name": "send_message"},
            {"type": "continue_loop", "tool_name": "fetch"},
            {"type": "constrain_child_tools", "tool_name": "search", "children": ["fetch", "gone"]},
            {"type": "conditional", "tool_name": "decide", "child_output_mapping": {"yes": "fetch"},
             "default_child": "search"},
            {"type": "max_count_per_step", "tool_name": "search", "max_count_limit": 3},
            {"type": "parent_last_tool", "tool_name": "search", "children": ["summarize"]},
            {"type": "required_before_exit", "tool_name": "memory_insert"},
            {"type": "requires_approval", "tool_name": "fetch"},
            {"type": "exit_loop", "tool_name": "gone"},
        )
        lines = s.usage_rules_text().split("\n")
        assert lines == [
            "- Call `search` first, before any other tool.",
            "- Calling `send_message` ends your turn and hands control back.",
            "- After calling `fetch`, keep going: you get another step to continue your response.",
            "- After calling `search`, your next call must be one of: `fetch`.",
            "- The result of `decide` decides which tool you call next: 'yes' → `fetch`; anything else → `search`.",
            "- Call `search` at most 3 time(s) per request.",
            "- `summarize` may only be called right after `search`.",
            "- You must call `memory_insert` at least once before ending your turn.",
        ]

    def test_templates(self):
        s = solver(
            {"type": "constrain_child_tools", "tool_name": "search", "children": ["fetch", "summarize"],
             "prompt_template": "<tool_rule>\nAfter {{ tool_name }}: {{ children | join(' or ') }}\n</tool_rule>"},
            {"type": "max_count_per_step", "tool_name": "fetch", "max_count_limit": 2,
             "prompt_template": "{{tool_name}} x{{ max_count_limit }} {{ unknown }} {% if x %}"},
            {"type": "exit_loop", "tool_name": "send_message", "prompt_template": "   "},
            {"type": "conditional", "tool_name": "decide", "child_output_mapping": {"a": "fetch"},
             "prompt_template": "{{ child_output_mapping }}; {{ default_child }}; {{ children }}"},
        )
        assert s.usage_rules_text().split("\n") == [
            "<tool_rule>",
            "After search: fetch or summarize",
            "</tool_rule>",
            "fetch x2 {{ unknown }} {% if x %}",
            # A blank template falls back to the default sentence.
            "- Calling `send_message` ends your turn and hands control back.",
            "a → fetch; ;",
        ]

    def test_duplicate_lines_once(self):
        s = solver({"type": "exit_loop", "tool_name": "send_message"}, {"type": "exit_loop", "tool_name": "send_message"})
        assert s.usage_rules_text() == "- Calling `send_message` ends your turn and hands control back."


# =====================================================================================
# Memory edits
# =====================================================================================


def make_blocks() -> dict[str, BlockState]:
    return {
        "human": BlockState("block-1", "human", "Name: Ann\nLikes: tea", 200, description="About the user."),
        "persona": BlockState("block-2", "persona", "I am Sam.", 100, read_only=True),
        "notes": BlockState("block-3", "notes", "", 50),
    }


@pytest.fixture
def blocks() -> dict[str, BlockState]:
    return make_blocks()


def error(fn, *args, **kwargs) -> str:
    with pytest.raises(MemoryEditError) as info:
        fn(*args, **kwargs)
    return str(info.value)


class TestCommonErrors:
    @pytest.mark.parametrize(
        ("fn", "args"),
        [
            (core_memory_append, ("x",)),
            (core_memory_replace, ("a", "b")),
            (memory_insert, ("x",)),
            (memory_replace, ("a", "b")),
            (memory_rethink, ("x",)),
        ],
    )
    def test_unknown_label_lists_labels(self, blocks, fn, args):
        before = {k: v.value for k, v in blocks.items()}
        msg = error(fn, blocks, "humna", *args)
        assert "`humna`" in msg and "`human`" in msg and "`persona`" in msg and "`notes`" in msg
        assert {k: v.value for k, v in blocks.items()} == before

    def test_unknown_label_without_blocks(self):
        assert "no memory blocks" in error(memory_rethink, {}, "human", "x")

    @pytest.mark.parametrize(
        ("fn", "args"),
        [
            (core_memory_append, ("x",)),
            (core_memory_replace, ("Sam", "Max")),
            (memory_insert, ("x",)),
            (memory_replace, ("Sam", "Max")),
            (memory_rethink, ("x",)),
        ],
    )
    def test_read_only(self, blocks, fn, args):
        msg = error(fn, blocks, "persona", *args)
        assert "read-only" in msg and "`persona`" in msg
        assert blocks["persona"].value == "I am Sam."

    @pytest.mark.parametrize(
        ("fn", "args"),
        [
            (core_memory_append, ("y" * 50,)),
            (core_memory_replace, ("Ann", "A" * 200)),
            (memory_insert, ("y" * 200,)),
            (memory_replace, ("tea", "t" * 200)),
            (memory_rethink, ("z" * 201,)),
        ],
    )
    def test_over_limit_says_by_how_much(self, blocks, fn, args):
        blocks["human"].limit = 60 if fn is core_memory_append else 200
        before = blocks["human"].value
        msg = error(fn, blocks, "human", *args)
        assert "limit" in msg and "over" in msg
        old = len(before)
        if fn is memory_rethink:
            assert "201 characters, 1 over its limit of 200" in msg
        if fn is core_memory_append:
            assert f"{old + 51} characters, {old + 51 - 60} over its limit of 60" in msg
        assert blocks["human"].value == before

    def test_exactly_at_limit_is_fine(self, blocks):
        memory_rethink(blocks, "human", "x" * 200)
        assert len(blocks["human"].value) == 200

    def test_zero_limit_means_unlimited(self, blocks):
        blocks["human"].limit = 0
        out = memory_rethink(blocks, "human", "x" * 10_000)
        assert len(blocks["human"].value) == 10_000
        assert "10000 characters" in out


class TestCoreMemoryAppend:
    def test_appends_on_new_line(self, blocks):
        out = core_memory_append(blocks, "human", "Job: dev")
        assert blocks["human"].value == "Name: Ann\nLikes: tea\nJob: dev"
        assert "Name: Ann\nLikes: tea\nJob: dev" in out
        assert "`human`" in out and "of 200 characters" in out

    def test_empty_block_gets_no_leading_newline(self, blocks):
        core_memory_append(blocks, "notes", "first")
        assert blocks["notes"].value == "first"

    def test_trailing_newline_not_doubled(self, blocks):
        blocks["human"].value = "a\n"
        core_memory_append(blocks, "human", "b")
        assert blocks["human"].value == "a\nb"


class TestCoreMemoryReplace:
    def test_replaces_every_occurrence(self, blocks):
        blocks["human"].value = "cat, cat and cat"
        out = core_memory_replace(blocks, "human", "cat", "dog")
        assert blocks["human"].value == "dog, dog and dog"
        assert "dog, dog and dog" in out

    def test_delete_with_empty_new_content(self, blocks):
        core_memory_replace(blocks, "human", "\nLikes: tea", "")
        assert blocks["human"].value == "Name: Ann"

    def test_not_found(self, blocks):
        msg = error(core_memory_replace, blocks, "human", "coffee", "tea")
        assert "`coffee`" in msg and "`human`" in msg and "exactly" in msg

    def test_empty_old_content(self, blocks):
        assert "empty" in error(core_memory_replace, blocks, "human", "", "x")
        assert blocks["human"].value == "Name: Ann\nLikes: tea"

    def test_long_old_content_is_quoted_short(self, blocks):
        msg = error(core_memory_replace, blocks, "human", "q" * 1000, "x")
        assert "(1000 characters)" in msg and len(msg) < 500


class TestMemoryInsert:
    def test_default_appends_at_end(self, blocks):
        out = memory_insert(blocks, "human", "Job: dev")
        assert blocks["human"].value == "Name: Ann\nLikes: tea\nJob: dev"
        assert "1→ Name: Ann\n2→ Likes: tea\n3→ Job: dev" in out
        assert "never include them" in out

    def test_top(self, blocks):
        memory_insert(blocks, "human", "Top", insert_line=0)
        assert blocks["human"].value == "Top\nName: Ann\nLikes: tea"

    def test_after_first_line_multiline(self, blocks):
        memory_insert(blocks, "human", "A\nB", insert_line=1)
        assert blocks["human"].value == "Name: Ann\nA\nB\nLikes: tea"

    def test_after_last_line_explicit(self, blocks):
        memory_insert(blocks, "human", "End", insert_line=2)
        assert blocks["human"].value == "Name: Ann\nLikes: tea\nEnd"

    def test_out_of_range_names_valid_range(self, blocks):
        for bad in (3, -2, 100):
            msg = error(memory_insert, blocks, "human", "x", insert_line=bad)
            assert f"insert_line {bad}" in msg and "between 0 and 2" in msg and "-1" in msg
        assert blocks["human"].value == "Name: Ann\nLikes: tea"

    def test_empty_block(self, blocks):
        memory_insert(blocks, "notes", "first")
        assert blocks["notes"].value == "first"
        blocks["notes"].value = ""
        memory_insert(blocks, "notes", "first", insert_line=0)
        assert blocks["notes"].value == "first"
        blocks["notes"].value = ""
        memory_insert(blocks, "notes", "first", insert_line=1)
        assert blocks["notes"].value == "first"
        blocks["notes"].value = ""
        assert "between 0 and 1" in error(memory_insert, blocks, "notes", "x", insert_line=2)

    def test_end_keeps_trailing_newline(self, blocks):
        blocks["human"].value = "a\nb\n"
        memory_insert(blocks, "human", "c")
        assert blocks["human"].value == "a\nb\nc\n"
        # Explicit line numbers follow the displayed lines (3 lines: 'a', 'b', '').
        blocks["human"].value = "a\nb\n"
        memory_insert(blocks, "human", "c", insert_line=3)
        assert blocks["human"].value == "a\nb\n\nc"

    def test_rejects_line_number_prefixes(self, blocks):
        msg = error(memory_insert, blocks, "human", "3→ Job: dev")
        assert "line-number prefix" in msg and "new_string" in msg
        error(memory_insert, blocks, "human", "ok\n  12→ Job")

    def test_arrow_inside_text_is_fine(self, blocks):
        memory_insert(blocks, "human", "Route: A → B")
        assert blocks["human"].value.endswith("Route: A → B")


class TestMemoryReplace:
    def test_replaces_single_occurrence(self, blocks):
        out = memory_replace(blocks, "human", "tea", "coffee")
        assert blocks["human"].value == "Name: Ann\nLikes: coffee"
        assert "2→ Likes: coffee" in out

    def test_multiline_and_delete(self, blocks):
        memory_replace(blocks, "human", "Ann\nLikes", "Ann\nLoves")
        assert blocks["human"].value == "Name: Ann\nLoves: tea"
        memory_replace(blocks, "human", "\nLoves: tea", "")
        assert blocks["human"].value == "Name: Ann"

    def test_not_found(self, blocks):
        msg = error(memory_replace, blocks, "human", "Bob", "Ann")
        assert "`Bob`" in msg and "`human`" in msg and "verbatim" in msg

    def test_multiple_occurrences_name_lines(self, blocks):
        blocks["human"].value = "likes tea\nfoo\nlikes tea too\nlikes tea"
        msg = error(memory_replace, blocks, "human", "likes tea", "x")
        assert "3 times" in msg and "1, 3, 4" in msg and "exactly once" in msg
        assert blocks["human"].value == "likes tea\nfoo\nlikes tea too\nlikes tea"

    def test_overlapping_occurrences_are_ambiguous(self, blocks):
        blocks["human"].value = "aaa"
        assert "2 times" in error(memory_replace, blocks, "human", "aa", "b")

    def test_rejects_line_numbers_in_either_string(self, blocks):
        assert "old_string" in error(memory_replace, blocks, "human", "2→ Likes: tea", "x")
        assert "new_string" in error(memory_replace, blocks, "human", "tea", "2→ coffee")
        assert "old_string" in error(memory_replace, blocks, "human", "Name: Ann\n2 → Likes", "x")
        assert blocks["human"].value == "Name: Ann\nLikes: tea"

    def test_empty_old_string(self, blocks):
        assert "empty" in error(memory_replace, blocks, "human", "", "x")

    def test_tabs_fall_back_to_expanded_match(self, blocks):
        blocks["human"].value = "key:\tvalue\nother"
        memory_replace(blocks, "human", "key:    value", "key: new")
        assert blocks["human"].value == "key: new\nother"

    def test_tabs_exact_match_preserved(self, blocks):
        blocks["human"].value = "a\tb\nc\td"
        memory_replace(blocks, "human", "a\tb", "x")
        assert blocks["human"].value == "x\nc\td"


class TestMemoryRethink:
    def test_replaces_whole_value(self, blocks):
        out = memory_rethink(blocks, "human", "Name: Ann\nAge: 30")
        assert blocks["human"].value == "Name: Ann\nAge: 30"
        assert "1→ Name: Ann\n2→ Age: 30" in out

    def test_can_empty_a_block(self, blocks):
        out = memory_rethink(blocks, "human", "")
        assert blocks["human"].value == ""
        assert "empty" in out

    def test_missing_label_does_not_create(self, blocks):
        msg = error(memory_rethink, blocks, "project", "x")
        assert "`project`" in msg and "cannot be created" in msg
        assert "project" not in blocks

    def test_rejects_line_numbers(self, blocks):
        assert "new_memory" in error(memory_rethink, blocks, "human", "1→ Name: Ann")


class TestLongBlockView:
    def test_snippet_around_the_change(self, blocks):
        blocks["human"].limit = 100_000
        blocks["human"].value = "\n".join(f"line {i}" for i in range(1, 201))
        out = memory_replace(blocks, "human", "line 100\n", "changed 100\n")
        assert "100→ changed 100" in out
        assert "Lines 96-104 of 200" in out
        assert "1→ line 1\n" not in out and "200→" not in out

    def test_append_shows_the_end(self, blocks):
        blocks["human"].limit = 100_000
        blocks["human"].value = "\n".join(f"line {i}" for i in range(1, 201))
        out = core_memory_append(blocks, "human", "tail")
        assert out.endswith("line 200\ntail")
        assert "of 201" in out and "→" not in out


class TestDispatch:
    def test_memory_tools_match_builtin_schemas(self):
        assert MEMORY_TOOLS == {
            "core_memory_append", "core_memory_replace", "memory_insert", "memory_replace", "memory_rethink",
        }
        for name in MEMORY_TOOLS:
            params = BUILTIN_TOOLS[name].json_schema["parameters"]
            assert set(params["required"]) <= set(params["properties"])

    @pytest.mark.parametrize(
        ("name", "args", "expected"),
        [
            ("core_memory_append", {"label": "human", "content": "X"}, "Name: Ann\nLikes: tea\nX"),
            ("core_memory_replace", {"label": "human", "old_content": "tea", "new_content": "X"}, "Name: Ann\nLikes: X"),
            ("memory_insert", {"label": "human", "new_string": "X"}, "Name: Ann\nLikes: tea\nX"),
            ("memory_insert", {"label": "human", "new_string": "X", "insert_line": 0}, "X\nName: Ann\nLikes: tea"),
            ("memory_insert", {"label": "human", "new_string": "X", "insert_line": None}, "Name: Ann\nLikes: tea\nX"),
            ("memory_insert", {"label": "human", "new_string": "X", "insert_line": 1.0}, "Name: Ann\nX\nLikes: tea"),
            ("memory_insert", {"label": "human", "new_string": "X", "insert_line": " 1 "}, "Name: Ann\nX\nLikes: tea"),
            ("memory_insert", {"label": "human", "new_string": "X", "insert_line": "-1"}, "Name: Ann\nLikes: tea\nX"),
            ("memory_replace", {"label": "human", "old_string": "Ann", "new_string": "Bo"}, "Name: Bo\nLikes: tea"),
            ("memory_rethink", {"label": "human", "new_memory": "X"}, "X"),
        ],
    )
    def test_routes_and_applies(self, blocks, name, args, expected):
        out = dispatch(name, args, blocks)
        assert blocks["human"].value == expected
        assert "`human`" in out and "Ignored" not in out

    def test_heartbeat_and_thinking_dropped_silently(self, blocks):
        out = dispatch(
            "memory_rethink",
            {"label": "human", "new_memory": "X", "request_heartbeat": True, "thinking": "hmm"},
            blocks,
        )
        assert "request_heartbeat" not in out and "thinking" not in out and "Ignored" not in out

    def test_unknown_arguments_ignored_and_mentioned(self, blocks):
        out = dispatch("memory_rethink", {"label": "human", "new_memory": "X", "mood": "good"}, blocks)
        assert blocks["human"].value == "X"
        assert "Ignored unknown argument(s): mood" in out

    @pytest.mark.parametrize(
        ("name", "args", "missing"),
        [
            ("core_memory_append", {"label": "human"}, "content"),
            ("core_memory_replace", {"label": "human", "old_content": "a"}, "new_content"),
            ("memory_insert", {"new_string": "x"}, "label"),
            ("memory_replace", {"label": "human", "new_string": "x"}, "old_string"),
            ("memory_rethink", {"label": "human", "new_memory": None}, "new_memory"),
            ("memory_rethink", {}, "label, new_memory"),
        ],
    )
    def test_missing_required_argument(self, blocks, name, args, missing):
        msg = error(dispatch, name, args, blocks)
        assert f"missing required argument(s): {missing}" in msg

    @pytest.mark.parametrize(
        ("name", "args", "needle"),
        [
            ("memory_rethink", {"label": "human", "new_memory": 5}, "`new_memory` of memory_rethink must be a string"),
            ("memory_rethink", {"label": ["human"], "new_memory": "x"}, "`label` of memory_rethink must be a string, not an array"),
            ("memory_insert", {"label": "human", "new_string": "x", "insert_line": "two"}, "must be an integer"),
            ("memory_insert", {"label": "human", "new_string": "x", "insert_line": 1.5}, "must be an integer, not a number"),
            ("memory_insert", {"label": "human", "new_string": "x", "insert_line": True}, "not a boolean"),
            ("memory_insert", {"label": "human", "new_string": "x", "insert_line": {}}, "not an object"),
        ],
    )
    def test_wrong_types(self, blocks, name, args, needle):
        assert needle in error(dispatch, name, args, blocks)
        assert blocks["human"].value == "Name: Ann\nLikes: tea"

    def test_arguments_must_be_an_object(self, blocks):
        assert "JSON object" in error(dispatch, "memory_rethink", ["human", "x"], blocks)

    def test_errors_from_the_tool_propagate(self, blocks):
        assert "read-only" in error(dispatch, "memory_rethink", {"label": "persona", "new_memory": "x"}, blocks)

    def test_not_a_memory_tool_is_a_caller_bug(self, blocks):
        with pytest.raises(ValueError) as info:
            dispatch("send_message", {"message": "hi"}, blocks)
        assert not isinstance(info.value, MemoryEditError)

    def test_arguments_decoded_from_json(self, blocks):
        args = json.loads('{"label": "human", "old_string": "tea", "new_string": "green tea"}')
        dispatch("memory_replace", args, blocks)
        assert blocks["human"].value == "Name: Ann\nLikes: green tea"

    def test_memory_edit_error_is_value_error_with_message(self):
        err = MemoryEditError("boom")
        assert isinstance(err, ValueError) and err.message == "boom" and str(err) == "boom"
