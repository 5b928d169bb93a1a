"""Versioned models in the lake: `models/<model>/<version>/` with the model files and a `card.json`.

A card holds what a reader needs to trust a version: parameters, data sizes, metrics beside their baselines,
the primary metric and its direction, and the version it replaces (the one serving when it was trained) with
that version's primary metric, when both were measured by the same `protocol`. `models/<model>/serving.json`
names the version the serving tables were last written from: only a version that is not worse than the one it
replaces gets there (`promote`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pyarrow.fs as pafs

from pipeline.lake import Lake

ZONE = "models"
CARD = "card.json"
SERVING = "serving.json"


@dataclass(frozen=True)
class Comparison:
    passed: bool
    text: str


def new_version(now: datetime | None = None) -> str:
    """Versions sort by time: v20261125T071500123Z (milliseconds, UTC)."""
    now = now or datetime.now(timezone.utc)
    return "v" + now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"


def compare(card: dict, tolerance: float = 0.002) -> Comparison:
    """Is the card's model not worse than the one it replaces (within `tolerance` on the primary metric)?"""
    metric, value = card["primary_metric"], card["metrics"][card["primary_metric"]]
    replaces = card.get("replaces")
    if not replaces:
        return Comparison(True, f"{metric} {value:.4f}: first version, nothing to replace")
    if replaces["value"] is None:
        return Comparison(True, f"{metric} {value:.4f}: nothing comparable, {replaces['version']} was measured "
                                f"differently ({replaces['measured_differently']})")
    before = replaces["value"]
    higher = card["higher_is_better"]
    passed = value >= before - tolerance if higher else value <= before + tolerance
    verdict = "not worse than" if passed else "WORSE than"
    return Comparison(passed, f"{metric} {value:.4f} is {verdict} {before:.4f} of {replaces['version']} "
                              f"({'higher' if higher else 'lower'} is better, tolerance {tolerance})")


@dataclass(frozen=True)
class ModelStore:
    lake: Lake
    model: str

    def parts(self, version: str, *more: str) -> tuple[str, ...]:
        return (ZONE, self.model, version, *more)

    def uri(self, version: str, *more: str) -> str:
        return self.lake.uri(*self.parts(version, *more))

    def _read_json(self, *parts: str) -> dict | None:
        try:
            with self.lake.filesystem.open_input_stream(self.lake.path(*parts)) as f:
                return json.loads(f.read())
        except FileNotFoundError:
            return None

    def _write_json(self, data: dict, *parts: str) -> None:
        fs, path = self.lake.filesystem, self.lake.path(*parts)
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        tmp = path if self.lake.is_s3 else f"{path}.tmp"
        with fs.open_output_stream(tmp) as f:
            f.write(json.dumps(data, indent=2, sort_keys=True, default=str).encode())
        if tmp != path:
            fs.move(tmp, path)

    def versions(self) -> list[str]:
        """Versions with a card, oldest first (a version without a card is an interrupted training)."""
        selector = pafs.FileSelector(self.lake.path(ZONE, self.model), allow_not_found=True)
        names = [i.base_name for i in self.lake.filesystem.get_file_info(selector) if i.type == pafs.FileType.Directory]
        return sorted(n for n in names if self._read_json(*self.parts(n, CARD)) is not None)

    def latest(self) -> str | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def card(self, version: str) -> dict:
        card = self._read_json(*self.parts(version, CARD))
        if card is None:
            raise FileNotFoundError(f"model {self.model} has no version {version}")
        return card

    def serving(self) -> str | None:
        pointer = self._read_json(ZONE, self.model, SERVING)
        return pointer["version"] if pointer else None

    def save_card(self, version: str, params: dict, metrics: dict, baseline: dict, primary_metric: str,
                  higher_is_better: bool, data: dict, extra: dict | None = None) -> dict:
        """Write the card last: a version exists once its files and card are complete."""
        serving = self.serving()
        replaces = None
        if serving:
            previous = self.card(serving)
            protocol = (extra or {}).get("protocol")
            if previous.get("protocol") == protocol and primary_metric in previous["metrics"]:
                replaces = {"version": serving, "value": previous["metrics"][primary_metric]}
            else:  # e.g. a version from before an evaluation changed: its number would mislead the gate
                replaces = {"version": serving, "value": None,
                            "measured_differently": previous.get("protocol") or "an earlier protocol"}
        card = {
            "model": self.model, "version": version, "created_at": datetime.now(timezone.utc).isoformat(),
            "params": params, "metrics": metrics, "baseline": baseline, "primary_metric": primary_metric,
            "higher_is_better": higher_is_better, "data": data, "replaces": replaces, **(extra or {}),
        }
        self._write_json(card, *self.parts(version, CARD))
        return card

    def put(self, name: str, data: dict) -> None:
        """A document beside the versions, e.g. `tuning.json` (the grid search whose best parameters train the
        next version)."""
        self._write_json(data, ZONE, self.model, name)

    def get(self, name: str) -> dict | None:
        return self._read_json(ZONE, self.model, name)

    def promote(self, version: str) -> None:
        self._write_json({"version": version, "promoted_at": datetime.now(timezone.utc).isoformat()},
                         ZONE, self.model, SERVING)
