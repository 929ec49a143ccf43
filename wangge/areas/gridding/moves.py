"""The changes the local search can make to a partition, as values.

Each move is a frozen dataclass that applies itself to a :class:`.state.Partition`:
:class:`Relocate` (a whole node to an adjacent grid), :class:`Swap` (two
boundary nodes exchanged), :class:`Chain` (two whole-node moves through a
middle grid) and :class:`Split` (some entrances of a node become a new piece in
another grid).  :class:`Candidate` pairs a move with its cost change while the
search compares them; :class:`ChainStep` is one step of an ejection chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from .state import Partition


@dataclass(frozen=True, slots=True)
class Relocate:
    """Move the whole ``node`` to the adjacent grid ``destination``."""

    node: int
    destination: int

    def apply(self, partition: Partition) -> None:
        partition.assign(self.node, self.destination)


@dataclass(frozen=True, slots=True)
class Swap:
    """Exchange two boundary nodes: ``node`` (of ``grid``) and ``other`` (of ``other_grid``)."""

    node: int
    other: int
    grid: int
    other_grid: int

    def apply(self, partition: Partition) -> None:
        partition.assign(self.node, self.other_grid)
        partition.assign(self.other, self.grid)


@dataclass(frozen=True, slots=True)
class Chain:
    """Two whole-node moves through a middle grid (grid -> B -> C, or C -> B -> grid)."""

    first: int
    first_destination: int
    second: int
    second_destination: int

    def apply(self, partition: Partition) -> None:
        partition.assign(self.first, self.first_destination)
        partition.assign(self.second, self.second_destination)


@dataclass(frozen=True, slots=True)
class Split:
    """Hand the last ``entrances`` entrances of ``node`` to ``destination`` as a new piece."""

    node: int
    entrances: int
    destination: int

    def apply(self, partition: Partition) -> None:
        building = partition.node_building[self.node]
        partition.node_entrances[self.node] -= self.entrances
        partition.add_node(building, self.entrances, self.destination, after=self.node)
        partition.reweigh(building)


#: one change of the partition that the local search can apply
Move: TypeAlias = Relocate | Swap | Chain | Split


@dataclass(frozen=True, slots=True)
class Candidate:
    """A move and what it would change the total cost by (negative: better)."""

    cost_change: float
    move: Move


@dataclass(frozen=True, slots=True)
class ChainStep:
    """One step of an ejection chain: ``node`` goes from ``source`` to ``destination``,
    whole when ``entrances`` is 0, else only its last ``entrances`` entrances."""

    node: int
    source: int
    destination: int
    entrances: int

    def move(self) -> Relocate | Split:
        if self.entrances == 0:
            return Relocate(self.node, self.destination)
        return Split(self.node, self.entrances, self.destination)
