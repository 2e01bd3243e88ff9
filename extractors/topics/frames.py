"""The files beside the watchlist: the frames (`frames.yaml`) and the fitted weights.

Owns their formats and validation. `frames.yaml` lists, per language, the phrases of the kinds
of story that make a named country incidental (sport, entertainment, company, markets,
culture), the outlet and brand names that contain a country (`brands`), and the politics and
security words that keep a text about its country inside a frame (`hard_news`); its header
in seeds/ documents it for analysts. The weights file (`watchlist.weights.yaml`) is written by
bench/fit_tagger.py: a logistic regression's bias and one weight per feature of
`extractors.topics.score.FEATURES`, and the `about` threshold on its probability. Both are
read next to the watchlist (`frames_path`, `weights_path`) and errors name the file and line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from extractors import seedfile
from extractors.errors import ConfigError
from extractors.topics.spec import _parse_phrases

_FRAME_KEYS = ("frames", "brands", "hard_news")


@dataclass(frozen=True, slots=True)
class Frames:
    """Phrases per language: each frame's, the brand names', the hard-news words'."""

    frames: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    brands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hard_news: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Weights:
    """A fitted logistic model: `about` when sigmoid(bias + sum(w * feature)) >= threshold."""

    bias: float
    weights: dict[str, float]
    threshold: float = 0.5

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(w * features[name] for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def frames_path(watchlist: str | Path) -> Path:
    """`frames.yaml` in the watchlist's folder."""
    return Path(watchlist).with_name("frames.yaml")


def weights_path(watchlist: str | Path) -> Path:
    """`<watchlist stem>.weights.yaml` beside the watchlist (watchlist.weights.yaml)."""
    path = Path(watchlist)
    return path.with_name(f"{path.stem}.weights.yaml")


def parse_frames(text: str, path: str) -> Frames:
    """The frames file's phrases; `ConfigError` at the line of the first problem."""
    root = seedfile.compose(text, path, fix="check indentation and brackets")
    if root is None:
        return Frames()
    entries = {k: (kn, v) for k, kn, v in seedfile.mapping_items(root, path, "the frames file")}
    for key, (key_node, _) in entries.items():
        if key not in _FRAME_KEYS:
            fix = "known keys: " + ", ".join(_FRAME_KEYS)
            raise seedfile.error_at(key_node, path, f"unknown top-level key {key!r}", fix=fix)
    frames = {}
    if "frames" in entries:
        for name, _, node in seedfile.mapping_items(entries["frames"][1], path, "`frames`"):
            frames[name] = _parse_phrases(node, path, "", f"frame {name}")
    brands = _parse_phrases(entries["brands"][1], path, "", "brands") if "brands" in entries else {}
    hard = {}
    if "hard_news" in entries:
        hard = _parse_phrases(entries["hard_news"][1], path, "", "hard_news")
    return Frames(frames, brands, hard)


def parse_weights(text: str, path: str, features: tuple[str, ...]) -> Weights:
    """The fitted model; every feature needs a number. `ConfigError` at the line."""
    root = seedfile.compose(text, path)
    if root is None:
        raise ConfigError(path, "the weights file is empty", line=1)
    top = {k: (kn, v) for k, kn, v in seedfile.mapping_items(root, path, "the weights file")}
    for key in ("bias", "threshold", "weights"):
        if key not in top:
            fix = "rerun bench/fit_tagger.py"
            raise seedfile.error_at(root, path, f"no `{key}` in the weights file", fix=fix)
    weights = {}
    for name, key_node, node in seedfile.mapping_items(top["weights"][1], path, "`weights`"):
        if name not in features:
            fix = "known features: " + ", ".join(features)
            raise seedfile.error_at(key_node, path, f"unknown feature {name!r}", fix=fix)
        weights[name] = _number(node, path, name)
    if missing := [f for f in features if f not in weights]:
        fix = "rerun bench/fit_tagger.py"
        raise seedfile.error_at(top["weights"][1], path, f"no weight for {missing}", fix=fix)
    bias = _number(top["bias"][1], path, "bias")
    threshold = _number(top["threshold"][1], path, "threshold")
    if not 0 < threshold < 1:
        raise seedfile.error_at(top["threshold"][1], path, "threshold must be between 0 and 1")
    return Weights(bias, weights, threshold)


def _number(node: yaml.Node, path: str, what: str) -> float:
    if isinstance(node, yaml.ScalarNode):
        try:
            value = float(node.value)
        except ValueError:
            value = float("nan")
        if math.isfinite(value):
            return value
    raise seedfile.error_at(node, path, f"{what} must be a number")
