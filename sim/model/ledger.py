"""The cargo held at one node, per (class, routing tag): hold, take, and reserve for one carrier.

The only place a node's stock changes. Quantities are in the class's units (rounds, pods,
vehicles, tonnes). A reservation sets some of the stock aside for one owner (a carrier a
dispatch policy has chosen for it); what others may take is what is held less what is
reserved for someone else.
"""

from __future__ import annotations

from collections.abc import Iterator

EPS = 1e-9
Key = tuple[str, str]  # (class, routing tag)


class StockLedger:
    """Stock of one node by (class, tag), with reservations by owner."""

    def __init__(self) -> None:
        self._held: dict[Key, float] = {}
        self._reserved: dict[str, dict[Key, float]] = {}

    def __bool__(self) -> bool:
        return bool(self._held)

    def items(self) -> Iterator[tuple[Key, float]]:
        """(key, quantity held) in the order the keys first arrived."""
        return iter(self._held.items())

    def held(self, key: Key) -> float:
        """Quantity of `key` held here, reserved or not."""
        return self._held.get(key, 0.0)

    def hold(self, key: Key, quantity: float) -> None:
        """Put `quantity` of `key` into stock."""
        self._held[key] = self._held.get(key, 0.0) + quantity

    def take(self, key: Key, quantity: float, owner: str | None = None) -> None:
        """Remove `quantity` of `key` (aboard a carrier), first from `owner`'s reservation if it has one."""
        left = self._held[key] - quantity
        if left <= EPS:
            del self._held[key]
        else:
            self._held[key] = left
        if owner is not None and owner in self._reserved:
            mine = self._reserved[owner]
            if key in mine:
                mine[key] = max(0.0, mine[key] - quantity)
        self._trim_reservations(key)

    def available(self, key: Key, owner: str | None = None) -> float:
        """What `owner` may take of `key`: the stock less what is reserved for others."""
        held = self._held.get(key, 0.0)
        if not self._reserved:
            return held
        others = sum(r.get(key, 0.0) for who, r in self._reserved.items() if who != owner)
        return max(0.0, held - others)

    def reserve(self, owner: str, key: Key, quantity: float) -> None:
        """Set `quantity` of `key` aside for `owner` (replacing its earlier reservation of that key)."""
        self._reserved.setdefault(owner, {})[key] = max(0.0, quantity)
        self._trim_reservations(key)

    def release(self, owner: str) -> None:
        """Drop every reservation of `owner`."""
        self._reserved.pop(owner, None)

    def reserved(self, key: Key, owner: str) -> float:
        """What is reserved of `key` for `owner`."""
        return self._reserved.get(owner, {}).get(key, 0.0)

    def _trim_reservations(self, key: Key) -> None:
        """Keep reservations of `key` within what is held (the latest owners lose first)."""
        if not self._reserved:
            return
        room = self._held.get(key, 0.0)
        for mine in self._reserved.values():
            if key in mine:
                mine[key] = min(mine[key], room)
                room -= mine[key]
