"""The cost model: formulas checked on round numbers, overrides and their errors."""

from __future__ import annotations

import pytest

from keelhaul.errors import ConfigError
from keelhaul.image.cost import GB, CostSettings, cost, duration, money, saving


def test_round_numbers() -> None:
    settings = CostSettings(storage_price=0.10, transfer_price=0.09, bandwidth_mbps=80,
                            pulls_per_day=2, nodes=5, regions=3)  # fmt: skip
    c = cost(1 * GB, 3 * GB, settings)
    assert c.pulls_month == 2 * 5 * 30
    assert c.storage_month == pytest.approx(0.30)  # 1 GB x 3 regions x $0.10
    assert c.transfer_month == pytest.approx(300 * 0.09)  # 300 pulls x 1 GB x $0.09
    assert c.pull_seconds == pytest.approx(100 + 20)  # 8 Gbit at 80 Mbit/s, 3 GB at 150 MB/s
    assert c.total_month == pytest.approx(27.30)


def test_saving_scales_by_the_compression_ratio() -> None:
    s = saving(1 * GB, 4 * GB, 2 * GB, CostSettings())
    assert s.after.compressed_bytes == GB // 2  # half the bytes go, at the image's ratio
    assert s.after.uncompressed_bytes == 2 * GB
    assert s.month == pytest.approx(s.before.total_month / 2)
    assert saving(GB, GB, 10 * GB, CostSettings()).after.compressed_bytes == 0


def test_overrides() -> None:
    got = CostSettings().with_overrides({"storage-price": 0.026, "nodes": 200})
    assert (got.storage_price, got.nodes) == (0.026, 200)
    with pytest.raises(ConfigError, match="unknown key 'price'"):
        CostSettings().with_overrides({"price": 1})
    with pytest.raises(ConfigError, match="nodes must be a number"):
        CostSettings().with_overrides({"nodes": "many"})


def test_display() -> None:
    assert money(1234.5) == "$1,234.50"
    assert money(0.001) == "<$0.01"
    assert duration(12.34) == "12.3 s"
    assert duration(125) == "2 min 5 s"
