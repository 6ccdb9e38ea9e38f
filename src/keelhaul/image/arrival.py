"""Scanning a provisional image's layers in the order its source delivers them.

A streaming source (``docker:``, see :mod:`keelhaul.image.model`) hands out layers in the
order of its stream, not of the image. The per-layer scan does not care about order, so each
layer is scanned as it passes, then put in its place by its DiffID; the merge that follows
needs the scans in the image's order, so they are handed on in that order as soon as every
lower one is there (scans that came early wait, as paths and heads, never as bytes). A DiffID
the image lists twice (two layers of identical content) is scanned once and serves both
places with the index changed. A layer whose DiffID the image does not list, or a layer that
never arrives, is a one-line error naming it.

A source gives a provisional image only to a consumer that reads arrivals first: one that
opens the image inside :func:`reading_arrivals` (``keelhaul image`` does).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from keelhaul.errors import KeelhaulError
from keelhaul.image.model import Image, Layer

if TYPE_CHECKING:
    from keelhaul.image.analysis import LayerScan

__all__ = [
    "ArrivalError",
    "reading_arrivals",
    "reindex",
    "scan_in_arrival_order",
    "wants_arrivals",
]

_READING: ContextVar[bool] = ContextVar("keelhaul_reading_arrivals", default=False)

# how keelhaul.image.layer_walk.layer_name names a layer whose place is not known yet (-1)
_UNPLACED = re.compile(r"^layer 0 \([^)]*\): ")


@contextmanager
def reading_arrivals() -> Iterator[None]:
    """Images opened within this block may be provisional (``with reading_arrivals(),
    open_image(ref) as image``): the caller reads :attr:`Image.arrivals` before anything
    else (as :func:`keelhaul.image.analysis.analyse` does)."""
    token = _READING.set(True)
    try:
        yield
    finally:
        _READING.reset(token)


def wants_arrivals() -> bool:
    """Whether the source may give a provisional image (see :func:`reading_arrivals`)."""
    return _READING.get()


class ArrivalError(KeelhaulError):
    """A streamed layer that does not fit the image, or one that never came."""


def scan_in_arrival_order(
    image: Image, scan_one: Callable[[Layer], LayerScan]
) -> Iterator[LayerScan]:
    """``scan_one`` over every layer of ``image``, the scans yielded in the image's order.

    With :attr:`Image.arrivals` the layers are read as they arrive (and the image is settled
    when they have); without, they are opened one after the other.
    """
    arrivals = image.arrivals
    if arrivals is None:
        for layer in image.layers:
            yield scan_one(layer)
        return
    places: dict[str, list[int]] = {}
    for layer in image.layers:
        places.setdefault(layer.diff_id, []).append(layer.index)
    diff_ids = [layer.diff_id for layer in image.layers]
    waiting: dict[int, LayerScan] = {}
    done = 0  # scans handed on
    with arrivals() as stream:
        for arrival in stream:
            layer = arrival.layer
            try:
                scan = scan_one(layer)
            except KeelhaulError as err:
                text = str(err)
                if layer.index >= 0 or arrival.name in text:
                    raise
                raise ArrivalError(f"{arrival.name}: {_UNPLACED.sub('', text)}") from None
            diff_id = arrival.diff_id
            found = places.get(diff_id)
            if not found:
                raise ArrivalError(
                    f"{arrival.name}: its DiffID {diff_id} is none of the image's layers"
                )
            for index in found:
                if index >= done and index not in waiting:
                    waiting[index] = reindex(scan, index)
            while done in waiting:
                yield waiting.pop(done)
                done += 1
    if done < len(diff_ids):
        missing = [i for i in range(done, len(diff_ids)) if i not in waiting]
        names = ", ".join(f"layer {i + 1} ({diff_ids[i]})" for i in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ArrivalError(f"{image.source}: the stream ended without {names}{more}")


def reindex(scan: LayerScan, index: int) -> LayerScan:
    """``scan`` as the scan of layer ``index`` (the same bytes in another place): every
    record of the layer's index changes with it."""
    if scan.index == index:
        return scan
    return dataclasses.replace(
        scan,
        index=index,
        entries=[(path, node._replace(layer=index)) for path, node in scan.entries],
        whiteouts=list(scan.whiteouts),
        opaques=list(scan.opaques),
        heads=dict(scan.heads),
        secrets=[dataclasses.replace(hit, layer=index) for hit in scan.secrets],
        problems=list(scan.problems),
    )
