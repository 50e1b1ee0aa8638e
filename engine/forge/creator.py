"""DEAP creator types and toolbox, set up idempotently (safe under spawn and re-import).

``deap.creator.create`` replaces (and warns about) a class that already exists,
which breaks individuals made before the second call. Spawned workers re-import
this module, and several pipelines may run in one process, so every type is
created only if it is missing.
"""

from __future__ import annotations

import operator
import random
from typing import Any

from deap import base, creator, gp, tools

from engine.forge.primitives import generate_typed

FITNESS_NAME = "CrucibleFitnessMax"
INDIVIDUAL_NAME = "CrucibleIndividual"


def ensure_creator_types() -> tuple[type, type]:
    """Create (once per process) the fitness and individual classes; return them."""
    if not hasattr(creator, FITNESS_NAME):
        creator.create(FITNESS_NAME, base.Fitness, weights=(1.0,))
    if not hasattr(creator, INDIVIDUAL_NAME):
        creator.create(INDIVIDUAL_NAME, gp.PrimitiveTree, fitness=getattr(creator, FITNESS_NAME))
    return getattr(creator, FITNESS_NAME), getattr(creator, INDIVIDUAL_NAME)


def build_toolbox(
    pset: gp.PrimitiveSetTyped, max_height: int, tournament_size: int = 3
) -> base.Toolbox:
    """Toolbox with typed generation, variation under a height limit and double tournament.

    Bloat control: a static height limit on crossover and mutation, and a
    double tournament that prefers the smaller of two comparably fit trees.
    """
    _fitness, individual = ensure_creator_types()
    tb = base.Toolbox()
    tb.register("expr", generate_typed, pset=pset, min_=2, max_=min(4, max_height))
    tb.register("individual", _make_individual, individual, tb.expr)
    tb.register("population", _make_population, tb.individual)
    tb.register("mate", cx_one_point)
    tb.register("expr_mut", generate_typed, min_=0, max_=2)
    tb.register("mutate", _mutate, pset=pset, expr=tb.expr_mut)
    limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=max_height)
    tb.decorate("mate", limit)
    tb.decorate("mutate", limit)
    tb.register(
        "select",
        tools.selDoubleTournament,
        fitness_size=tournament_size,
        parsimony_size=1.4,
        fitness_first=True,
    )
    return tb


def cx_one_point(ind1: Any, ind2: Any) -> tuple[Any, Any]:
    """Typed one-point crossover whose choice depends only on the seeded RNG.

    ``deap.gp.cxOnePoint`` draws the crossover type from a ``set`` of type
    objects, whose order follows their memory addresses, so one seed gave
    different forges from one process to the next. Here the common types are
    listed in order of first appearance in ``ind1``.
    """
    if len(ind1) < 2 or len(ind2) < 2:
        return ind1, ind2
    types1: dict[Any, list[int]] = {}
    types2: dict[Any, list[int]] = {}
    for idx, node in enumerate(ind1[1:], 1):
        types1.setdefault(node.ret, []).append(idx)
    for idx, node in enumerate(ind2[1:], 1):
        types2.setdefault(node.ret, []).append(idx)
    common = [t for t in types1 if t in types2]
    if common:
        type_ = random.choice(common)
        slice1 = ind1.searchSubtree(random.choice(types1[type_]))
        slice2 = ind2.searchSubtree(random.choice(types2[type_]))
        ind1[slice1], ind2[slice2] = ind2[slice2], ind1[slice1]
    return ind1, ind2


def _make_individual(individual: type, expr: Any) -> Any:
    return individual(expr())


def _make_population(make: Any, n: int) -> list[Any]:
    return [make() for _ in range(n)]


def _mutate(ind: Any, pset: gp.PrimitiveSetTyped, expr: Any) -> tuple[Any]:
    """Uniform subtree mutation with a typed generator (or a node swap half the time)."""
    if random.random() < 0.5:
        return gp.mutNodeReplacement(ind, pset=pset)  # type: ignore[no-any-return]
    return gp.mutUniform(ind, expr=expr, pset=pset)  # type: ignore[no-any-return]
