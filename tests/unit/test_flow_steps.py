"""The sync flow wires exactly the library's steps, in the library's order.

:data:`indexgate.sync.steps.SYNC_STEPS` is the one definition of a sync. The flow runs a Prefect
task per step. This test reads the calls of the flow's body in the order Python evaluates them,
follows each task (and the flow's helpers) to the library functions it calls, and compares the
steps reached with the library's list. Adding, dropping or moving a step on one side only fails.
No Prefect server is needed: the code is read, not run.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

from prefect import Task

from indexgate.sync import steps
from indexgate.sync.steps import BUILD_STEPS, SYNC_STEPS, build_shadow, run_sync
from indexgate_flows.sync import sync as sync_flow
from indexgate_tasks import chunk_documents, parse_documents

# The flow's tasks that are no step: the inputs' checks, the decision of a no-op plan, the report.
NOT_STEPS = {"check_inputs", "keep_unchanged", "publish_report"}
WIRING = ("indexgate_tasks", "indexgate_flows", steps.__name__)  # modules whose calls are followed


def _function(called):
    return called.fn if isinstance(called, Task) else called


def _calls(fn) -> list[object]:
    """What ``fn``'s body calls, in evaluation order (arguments before the call that takes
    them), each resolved in ``fn``'s module; calls that do not resolve are left out. A function
    passed as an argument counts as called, just before the call it is passed to."""
    fn = inspect.unwrap(_function(fn))
    names = fn.__globals__
    found: list[object] = []

    def resolve(node):
        if isinstance(node, ast.Name):
            return names.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = resolve(node.value)
            return getattr(owner, node.attr, None) if owner is not None else None
        return None

    class Visitor(ast.NodeVisitor):
        def visit_Call(self, node):
            self.generic_visit(node)
            # A function passed to a call is run by it (the runner's stopwatch: timed("parse", parse, ...)).
            for arg in node.args:
                if inspect.isfunction(_function(passed := resolve(arg))) and passed is not fn:
                    found.append(passed)
            if (target := resolve(node.func)) is not None:
                found.append(target)

    Visitor().visit(ast.parse(textwrap.dedent(inspect.getsource(fn))))
    return found


def _reaches(called, target, depth: int = 3) -> bool:
    """Whether calling ``called`` runs ``target``: it is ``target``, or a task or wiring function
    whose body calls something that reaches it."""
    if called is target:
        return True
    fn = _function(called)
    if depth == 0 or not inspect.isfunction(fn) or not fn.__module__.startswith(WIRING):
        return False
    return any(_reaches(c, target, depth - 1) for c in _calls(fn))


def _steps_wired(fn, library=SYNC_STEPS) -> list[str]:
    """The library steps that ``fn``'s body runs, in its order (a step reached twice in a row once)."""
    wired: list[str] = []
    for called in _calls(fn):
        for name, step in library:
            if _reaches(called, step) and wired[-1:] != [name]:
                wired.append(name)
    return wired


def test_the_sync_flow_runs_the_library_steps_in_the_library_order():
    assert _steps_wired(sync_flow) == [name for name, _ in SYNC_STEPS]


def test_every_task_of_the_sync_flow_is_a_library_step_or_named_as_none():
    tasks = [c for c in _calls(sync_flow) if isinstance(c, Task)]
    others = {t.name for t in tasks if not any(_reaches(t, step) for _, step in SYNC_STEPS)}
    assert others == NOT_STEPS


def test_the_runner_and_the_build_run_the_same_steps():
    assert _steps_wired(run_sync) == [name for name, _ in SYNC_STEPS]
    assert _steps_wired(build_shadow, BUILD_STEPS) == [name for name, _ in BUILD_STEPS]


def test_a_flow_with_two_steps_swapped_is_caught():
    def drifted(given, planned):
        chunk_documents(given, planned)
        parse_documents(given, planned, "source", None)

    assert _steps_wired(drifted) == ["chunk", "parse"]
    assert _steps_wired(drifted) != [name for name, _ in SYNC_STEPS]
