"""The RPW workbook reader streams: ten times the rows, about the same peak memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from fx.market.layout import synthetic_rows, write_rpw_workbook
from fx.market.memory import measure_read


@pytest.mark.slow
def test_reading_ten_times_the_rows_needs_about_the_same_memory(tmp_path: Path) -> None:
    small, large = tmp_path / "small.xlsx", tmp_path / "large.xlsx"
    write_rpw_workbook(small, synthetic_rows(1_500))
    write_rpw_workbook(large, synthetic_rows(15_000))
    streamed_small = measure_read(small)
    streamed_large = measure_read(large)
    loaded_small = measure_read(small, streaming=False)
    assert (streamed_small.rows, streamed_large.rows) == (1_500, 15_000)
    # Bounded: 13,500 more rows cost under 12 MiB more peak memory (whole-file loading costs
    # ~10 MiB per thousand rows), and streaming the large file beats loading the small one whole.
    assert streamed_large.peak_rss_mib - streamed_small.peak_rss_mib < 12
    assert loaded_small.peak_rss_mib > streamed_small.peak_rss_mib
