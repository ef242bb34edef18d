"""Make sim/data/land_110m.json, the coarse land outline drawn under the network map.

Source: Natural Earth 1:110m Admin 0 countries (public domain, naturalearthdata.com),
as shipped in the geopandas 0.14 wheel (geopandas/datasets/naturalearth_lowres/*.shp).
Get the wheel with `pip download --no-deps geopandas==0.14.4`, unzip it, and run:

    python tools/make_land_outline.py PATH/TO/naturalearth_lowres.shp sim/data/land_110m.json

Reads the shapefile's polygon records with `struct` (no GIS library needed) and writes
one ring per polygon part, coordinates rounded to 0.01 degree. Run once; the JSON is
shipped as package data so maps are drawn without network access.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

LICENCE = ("Natural Earth 1:110m Admin 0 countries, public domain (naturalearthdata.com/about/terms-of-use); "
           "taken from the copy shipped in the geopandas 0.14 wheel (naturalearth_lowres)")


def read_polygons(shp: Path) -> list[list[list[float]]]:
    data = shp.read_bytes()
    rings: list[list[list[float]]] = []
    pos = 100
    while pos < len(data):
        _, length = struct.unpack(">ii", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + 2 * length]
        pos += 8 + 2 * length
        (kind,) = struct.unpack("<i", body[:4])
        if kind != 5:  # polygon
            continue
        nparts, npoints = struct.unpack("<ii", body[36:44])
        parts = list(struct.unpack(f"<{nparts}i", body[44:44 + 4 * nparts])) + [npoints]
        base = 44 + 4 * nparts
        points = struct.unpack(f"<{2 * npoints}d", body[base:base + 16 * npoints])
        for a, b in zip(parts, parts[1:]):
            ring = [[round(points[2 * i], 2), round(points[2 * i + 1], 2)] for i in range(a, b)]
            if len(ring) >= 4:
                rings.append(ring)
    return rings


def main(src: str, dst: str) -> None:
    rings = read_polygons(Path(src))
    doc = {"source": LICENCE, "rings": rings}
    Path(dst).write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(rings)} rings, {sum(map(len, rings))} points -> {dst}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
