"""The combined order of both systems' migrations (scripts/history/order.py), on histories built in memory.

No database and no files: a history is the list of migrations with their markers and parents,
as scripts/database/migration_state.py reads them, so each case below is the order alone.
"""

from __future__ import annotations

from scripts.core import systems
from scripts.core.errors import MigrationOrderBroken, MigrationOrderUnknown
from scripts.history.migrations import DatabaseState, Migration, SystemState
from scripts.history.order import Placed, combined, out_of_order, segment_targets, segments


def frontend(tag: str, *, after: str | None = None, applied: bool = False) -> Migration:
    return Migration(tag, tag, f"drizzle/{tag}.sql", applied, (after,) if after else ())


def backend(revision: str, *parents: str, after: str | None = None, applied: bool = False) -> Migration:
    return Migration(revision, revision, f"versions/{revision}.py", applied, (after,) if after else (), parents)


def history(frontend_migrations: list[Migration], backend_migrations: list[Migration]) -> DatabaseState:
    return DatabaseState(
        frontend=SystemState("frontend", "drizzle-kit", frontend_migrations),
        backend=SystemState("backend", "alembic", backend_migrations),
    )


def ids(order: list[Placed]) -> list[str]:
    return [placed.migration.id for placed in order]


def test_without_markers_the_frontend_comes_first() -> None:
    order, problems = combined(history([frontend("f1"), frontend("f2")], [backend("b1"), backend("b2", "b1")]))

    assert ids(order) == ["f1", "f2", "b1", "b2"]
    assert problems == []


def test_a_marker_puts_a_migration_after_the_other_systems_one_it_names() -> None:
    state = history(
        [frontend("f1"), frontend("f2", after="b1"), frontend("f3", after="b2")],
        [backend("b1", after="f1"), backend("b2", "b1", after="f2")],
    )

    order, problems = combined(state)

    assert ids(order) == ["f1", "b1", "f2", "b2", "f3"]
    assert problems == []


def test_a_backend_revision_never_precedes_its_down_revision() -> None:
    # Listed head first: the order comes from the parents, not from the list.
    state = history([frontend("f1")], [backend("b2", "b1"), backend("b1", after="f1")])

    order, _ = combined(state)

    assert ids(order) == ["f1", "b1", "b2"]


def test_two_merged_branches_interleave_by_their_markers() -> None:
    # Branch A wrote b_a after f1; branch B wrote f2 after the base and b_b after f2; m merges them.
    state = history(
        [frontend("f1"), frontend("f2", after="base")],
        [
            backend("base"),
            backend("b_a", "base", after="f1"),
            backend("b_b", "base", after="f2"),
            backend("m", "b_a", "b_b", after="f2"),
        ],
    )

    order, problems = combined(state)

    assert problems == []
    assert ids(order).index("f2") < ids(order).index("b_b") < ids(order).index("m")
    assert ids(order).index("b_a") < ids(order).index("m")
    assert ids(order).index("base") < ids(order).index("f2")


def test_contradicting_markers_are_a_problem_and_every_migration_is_still_listed() -> None:
    state = history([frontend("f1", after="b1")], [backend("b1", after="f1")])

    order, problems = combined(state)

    assert sorted(ids(order)) == ["b1", "f1"]
    assert [type(problem) for problem in problems] == [MigrationOrderUnknown]
    assert "contradict" in problems[0].message


def test_a_pending_migration_naming_an_unknown_one_is_a_problem() -> None:
    order, problems = combined(history([frontend("f1")], [backend("b1", after="f9")]))

    assert ids(order) == ["f1", "b1"]
    assert [type(problem) for problem in problems] == [MigrationOrderUnknown]
    assert "f9" in problems[0].message


def test_an_applied_migration_naming_an_unknown_one_is_no_problem() -> None:
    _, problems = combined(history([frontend("f1", applied=True)], [backend("b1", after="f9", applied=True)]))

    assert problems == []


def test_segments_group_the_pending_migrations_into_runs_of_one_system() -> None:
    state = history(
        [frontend("f1", applied=True), frontend("f2", after="b1"), frontend("f3", after="b1")],
        [backend("b1", after="f1", applied=True), backend("b2", "b1", after="f3"), backend("b3", "b2", after="f3")],
    )

    runs = segments(combined(state)[0])

    assert [(system, [m.id for m in migrations]) for system, migrations in runs] == [
        ("frontend", ["f2", "f3"]),
        ("backend", ["b2", "b3"]),
    ]


def test_segments_of_a_database_at_head_are_none() -> None:
    state = history([frontend("f1", applied=True)], [backend("b1", applied=True)])

    assert segments(combined(state)[0]) == []


def test_a_linear_segment_upgrades_to_its_last_revision() -> None:
    migrations = [backend("b2", "b1"), backend("b3", "b2"), backend("b4", "b3")]

    assert segment_targets(migrations) == ["b4"]


def test_branches_that_meet_in_the_segment_upgrade_to_their_merge() -> None:
    migrations = [backend("a", "base"), backend("b", "base"), backend("m", "a", "b")]

    assert segment_targets(migrations) == ["m"]


def test_branches_that_do_not_meet_in_the_segment_upgrade_to_each_head() -> None:
    migrations = [backend("a", "base"), backend("b", "base")]

    assert segment_targets(migrations) == ["a", "b"]


def test_ties_keep_each_systems_own_order_after_the_frontend() -> None:
    # Nothing orders b2 against f2 or f3: the frontend's come first, each system in its own order.
    state = history([frontend("f1"), frontend("f2"), frontend("f3")], [backend("b1", after="f1"), backend("b2", "b1")])

    order, _ = combined(state)

    assert ids(order) == ["f1", "f2", "f3", "b1", "b2"]


def test_a_frontend_migration_after_both_heads_of_a_merge_comes_after_both() -> None:
    # `-- after_backend: b_a, b_b`: written on a branch that had both heads (before their merge).
    state = history(
        [frontend("f1"), frontend("f2", after="b_a"), frontend("f3")],
        [backend("base"), backend("b_a", "base"), backend("b_b", "base")],
    )
    state.frontend.migrations[1] = Migration("f2", "f2", "drizzle/f2.sql", False, ("b_a", "b_b"))

    order, problems = combined(state)

    assert problems == []
    assert ids(order) == ["f1", "base", "b_a", "b_b", "f2", "f3"]


def test_a_contradiction_through_a_chain_is_found_too() -> None:
    # f2 after b2, b2 after b1 (its parent), b1 after f2: no order satisfies all three.
    state = history([frontend("f1"), frontend("f2", after="b2")], [backend("b1", after="f2"), backend("b2", "b1")])

    order, problems = combined(state)

    assert [type(problem) for problem in problems] == [MigrationOrderUnknown]
    assert sorted(ids(order)) == ["b1", "b2", "f1", "f2"]


def test_the_applied_migrations_keep_their_place_and_only_the_pending_are_segmented() -> None:
    state = history(
        [frontend("f1", applied=True), frontend("f2", after="b1"), frontend("f3", after="b2")],
        [backend("b1", after="f1", applied=True), backend("b2", "b1", after="f2"), backend("b3", "b2")],
    )

    order, _ = combined(state)

    assert ids(order) == ["f1", "b1", "f2", "b2", "f3", "b3"]
    assert [(system, [m.id for m in run]) for system, run in segments(order)] == [
        ("frontend", ["f2"]),
        ("backend", ["b2"]),
        ("frontend", ["f3"]),
        ("backend", ["b3"]),
    ]


def test_a_segment_of_one_branch_of_two_upgrades_to_that_branch_alone() -> None:
    # The other branch (b_b) is applied already, or comes in a later segment.
    assert segment_targets([backend("b_a1", "base"), backend("b_a2", "b_a1")]) == ["b_a2"]


def test_applying_one_system_alone_is_refused_where_it_would_pass_the_others_pending_migration() -> None:
    state = history([frontend("f1", applied=True), frontend("f2", after="b1")], [backend("b1", after="f1")])

    problems = out_of_order(state, systems.load().frontend)

    assert [type(problem) for problem in problems] == [MigrationOrderBroken]
    assert "drizzle/f2.sql was written after backend migration b1, which is not applied yet" in problems[0].message
    assert out_of_order(state, systems.load().backend) == []


def test_applying_one_system_alone_is_fine_once_the_other_caught_up() -> None:
    state = history(
        [frontend("f1", applied=True), frontend("f2", after="b1")], [backend("b1", after="f1", applied=True)]
    )

    assert out_of_order(state, systems.load().frontend) == []
