"""Flows, flow ends and notes cross process boundaries (a split's workers, a pool's
results) pickled by their fields (``cvipsniff.model.pickled_by_fields``): every one a
bundled capture makes comes back equal, with its flow still shared by what shared it."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields

import pytest

from cvipsniff.model import DirectionStats, Flow, FlowClosed, FlowOpened, TransportNote
from cvipsniff.pipeline import PipelineConfig, iter_capture
from tests.cli_helpers import BUNDLED_CAPTURES

CAPTURES = BUNDLED_CAPTURES


def test_every_field_of_the_classes_is_pickled() -> None:
    for cls in (DirectionStats, Flow, FlowClosed, FlowOpened, TransportNote):
        values = {f.name: f"value of {f.name}" for f in fields(cls)}
        obj = cls(**values)
        back = pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
        assert type(back) is cls and back == obj
        assert {f.name: getattr(back, f.name) for f in fields(cls)} == values
        assert copy.copy(obj) == obj and copy.deepcopy(obj) == obj


@pytest.mark.parametrize("capture", CAPTURES[:12], ids=lambda p: p.name)
def test_pipeline_outputs_come_back_equal(capture) -> None:
    outputs = [item for item in iter_capture(str(capture), PipelineConfig())
               if type(item) in (FlowClosed, TransportNote)]
    back = pickle.loads(pickle.dumps(outputs, pickle.HIGHEST_PROTOCOL))
    assert back == outputs
    # Outputs that shared a Flow object share its copy (one copy per original).
    copies: dict[int, int] = {}
    for a, b in zip(outputs, back, strict=True):
        if a.flow is not None:
            assert copies.setdefault(id(a.flow), id(b.flow)) == id(b.flow)
    assert len(set(copies.values())) == len(copies)
