"""Same records, same result: whatever the row order and whether the tables come as Arrow or pandas."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from citybrain.efficiency import load_params, score_year
from citybrain.efficiency.catalog import assemble
from citybrain.efficiency.generate import generate
from citybrain.efficiency.service import result_checksum


def test_row_order_and_frame_kind_do_not_change_the_result() -> None:
    params = load_params("2023")
    demo = generate(21, 2023, 500)
    base = result_checksum(score_year(assemble(2023, demo.tables), params))
    rng = np.random.default_rng(0)
    shuffled = {k: t.take(pa.array(rng.permutation(t.num_rows))) for k, t in demo.tables.items()}
    assert result_checksum(score_year(assemble(2023, shuffled), params)) == base
    frames = {k: t.to_pandas() for k, t in shuffled.items()}
    assert result_checksum(score_year(assemble(2023, frames), params)) == base
