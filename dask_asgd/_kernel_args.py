"""The argument groups that both model families' kernels take (``_kernels``, ``models._kmeans_kernels``).

numba takes a named tuple of arrays and scalars as one argument (each member keeps its own type,
so a kernel is compiled for the types of the members, as for separate arguments).  A trainer
builds the groups whose members are fixed arrays once (``Rows``, ``Inbox``) and a ``Walk`` for
each call.  The family's own groups (its settings and its state) live next to its kernel.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Rows(NamedTuple):
    """A shard's rows as the kernels read them: dense (``X``) or CSR (``data, indices, indptr``);
    the unused layout holds small dummy arrays (``X`` (1, 1); ``data`` (1,), ``indices`` (1,),
    ``indptr`` (2,)), so that each layout compiles once."""

    dense: bool  # which layout holds the rows
    X: np.ndarray  # (n, d) dense rows, C-contiguous
    data: np.ndarray  # CSR values
    indices: np.ndarray  # CSR column indices
    indptr: np.ndarray  # CSR row offsets
    y: np.ndarray  # float64 targets, one a row (K-Means: a dummy, not read)
    sw: np.ndarray  # float64 sample weights, one a row when ``has_sw`` (else a dummy, not read)
    has_sw: bool  # whether ``sw`` holds the weights (else every row weighs 1)


class Walk(NamedTuple):
    """The row groups one kernel call visits: group ``g`` of the call is rows ``gstart[first + g]``
    to ``gstop[first + g]`` (the epoch's order is the order of the groups), for ``n_groups``
    groups; fresh receive slots are merged after ``merge_after`` groups (a mini-batch)."""

    gstart: np.ndarray  # int64: first row of each group, in the epoch's order
    gstop: np.ndarray  # int64: the row after each group's last
    first: int  # the call's first group (index into gstart / gstop)
    n_groups: int  # groups the call visits
    merge_after: int  # groups before the merge (the first mini-batch)


class Inbox(NamedTuple):
    """The exchange's receive side: received blocks of peers' states and the merge's scratch.
    Slot ``s`` holds ``slot_len[s]`` values for ``w[slot_lo[s]:slot_lo[s] + slot_len[s]]``;
    ``slot_fresh[s]`` marks one not merged yet (the kernel's merge clears it)."""

    slots: np.ndarray  # (n_slots, size) in the state's dtype
    slot_lo: np.ndarray  # int64 (n_slots,)
    slot_len: np.ndarray  # int64 (n_slots,)
    slot_fresh: np.ndarray  # int8 (n_slots,)
    slot_reply: np.ndarray  # int8 (n_slots,): merge="pairwise", the slot now holds a share to return
    prev: np.ndarray  # (size,): the state before the call's first mini-batch (the Parzen test)
    acc: np.ndarray  # (size,) scratch: accepted values summed
    cnt: np.ndarray  # (size,) scratch: accepted values counted (linear: int32) or weighed (K-Means: float64)
