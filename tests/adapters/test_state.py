"""ObjectState: everything reachable from a layer or network comes back as it was."""

from collections import OrderedDict

import numpy as np

from harness.adapters.state import ObjectState, slots


class Holder:
    def __init__(self):
        self.W = np.arange(4.0)
        self.cache = None
        self.layers = OrderedDict(a=np.ones(2), b=[np.zeros(3), 5])
        self.rng = np.random.default_rng(0)
        self.legacy = np.random.RandomState(1)
        self.me = self  # a cycle


def test_restore_puts_back_objects_bytes_structure_and_random_states():
    held = Holder()
    W, first_list = held.W, held.layers["b"]
    np.random.seed(7)
    expected_draw = np.random.rand()
    np.random.seed(7)
    state = ObjectState(held)
    held.W[0] = 99.0  # in place
    held.cache = np.ones(3)  # replaced
    held.added = "new"  # added
    held.layers["c"] = 1
    held.layers.move_to_end("a")
    held.layers["b"].append(6)
    held.rng.random(5)
    held.legacy.rand(5)
    np.random.rand(3)
    state.restore()
    assert held.W is W and held.W[0] == 0.0
    assert held.cache is None and not hasattr(held, "added")
    assert list(held.layers) == ["a", "b"] and held.layers["b"] is first_list
    assert len(first_list) == 2
    assert held.rng.random() == np.random.default_rng(0).random()
    assert held.legacy.rand() == np.random.RandomState(1).rand()
    assert np.random.rand() == expected_draw


def test_skip_leaves_the_named_arrays_alone():
    held = Holder()
    state = ObjectState(held)
    held.W[1] = 5.0
    held.layers["a"][0] = 3.0
    state.restore(skip=frozenset({id(held.W)}))
    assert held.W[1] == 5.0 and held.layers["a"][0] == 1.0


def test_slots_walks_attributes_dicts_and_lists_once():
    held = Holder()
    found = [(type(c).__name__, k) for c, k, _ in slots(held)]
    assert ("Holder", "W") in found and ("OrderedDict", "a") in found and ("list", 0) in found
    assert found.count(("Holder", "W")) == 1  # the cycle through held.me is not walked again
