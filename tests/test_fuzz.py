"""The fuzz targets of :mod:`tests.fuzz_targets`, run briefly on every test run (marker
``fuzz``; about a minute in all). ``scripts/fuzz.sh DURATION`` runs the same targets for
as long as asked and saves what fails to ``tests/corpus/``."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz_targets import TARGETS

# Examples per target in the normal suite: the capture targets run report and read
# in-process per input, so they get fewer.
SHORT_RUN = {"capture-report-read": 25, "capture-reader": 100, "cvip-framer": 100,
             "imageserver-framer": 100}
DEFAULT_EXAMPLES = 200


def _test_for(target):
    @pytest.mark.fuzz
    @settings(max_examples=SHORT_RUN.get(target.name, DEFAULT_EXAMPLES), deadline=None,
              suppress_health_check=list(HealthCheck), database=None)
    @given(target.strategy)
    def test(data):
        target.run(data)

    test.__name__ = "test_fuzz_" + target.name.replace("-", "_")
    return test


for _target in TARGETS:
    globals()["test_fuzz_" + _target.name.replace("-", "_")] = _test_for(_target)
