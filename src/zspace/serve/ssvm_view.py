"""The latent SSVM view: per test example, the predicted label and latent, and the best alternatives.

The test split is rebuilt exactly as ``zspace structured eval`` does (the data set's name,
seed and arguments are in ``model.json``). Alternatives are ranked by w . phi(x, y, h): over
every (y, h) pair where the problem can score them all at once (``score_table``: latent
multiclass, digits with a latent shift), else over candidates drawn from the problem's
proposal distribution (sequence labelling, whose outputs are too many to list).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zspace.serve.errors import require
from zspace.structured.run import load_data, load_run

TOP_K = 5
N_PROPOSALS = 256  # candidates drawn per example when the output space cannot be listed
MAX_LIST = 500  # test examples listed in the page


def _plain(value: Any) -> Any:
    """A label or latent as JSON: ints, or lists of ints for sequences."""
    array = np.asarray(value)
    return array.tolist() if array.ndim else array.item()


class SSVMView:
    """A fitted LatentSSVM and its test split (X_test, Y_test)."""

    def __init__(self, estimator: Any, X_test: np.ndarray, Y_test: np.ndarray, dataset: str) -> None:
        self.estimator = estimator
        self.problem = estimator.problem_
        self.w = estimator.coef_
        self.X, self.Y = np.asarray(X_test), np.asarray(Y_test)
        self.dataset = dataset
        self.Y_pred, self.H_pred = (np.asarray(a) for a in self.problem.batch_inference(self.w, self.X))

    @classmethod
    def from_run(cls, run_dir: Path) -> SSVMView:
        loaded = load_run(run_dir)
        _, (X_test, Y_test) = load_data(loaded.config)
        return cls(loaded.estimator, X_test, Y_test, loaded.config.problem)

    def _losses(self) -> np.ndarray:
        return np.asarray(self.problem.losses(self.Y, self.Y_pred), dtype=float)

    def info(self) -> dict[str, Any]:
        return {
            "problem": type(self.problem).__name__,
            "dataset": self.dataset,
            "n_test": len(self.X),
            "test_loss": float(self._losses().mean()),
        }

    def examples(self) -> dict[str, Any]:
        """The first MAX_LIST test examples: true label, prediction, latent, and the task loss."""
        n = min(len(self.X), MAX_LIST)
        losses = self._losses()
        rows = [
            {"index": i, "label": _plain(self.Y[i]), "predicted": _plain(self.Y_pred[i]), "latent": _plain(self.H_pred[i]),
             "loss": float(losses[i])}
            for i in range(n)
        ]  # fmt: skip
        return {**self.info(), "examples": rows}

    def example(self, index: int) -> dict[str, Any]:
        """One test example: its prediction and latent, and the TOP_K best (y, h) by score."""
        require(index < len(self.X), f"example index {index} is out of range: the test split has {len(self.X)} examples")
        x = self.X[index : index + 1]
        if hasattr(self.problem, "score_table"):
            table = self.problem.score_table(self.w, x)[0]  # (n_classes, n_latent)
            order = np.argsort(-table, axis=None, kind="stable")[:TOP_K]
            pairs = [(int(y), int(h), float(table[y, h])) for y, h in zip(*np.unravel_index(order, table.shape))]
            ranked_over = "every (label, latent) pair"
        else:
            rng = np.random.default_rng(index)
            Yc, Hc = self.problem.sample_candidates(x, self.Y[index : index + 1], N_PROPOSALS, rng)
            Yc = np.concatenate([self.Y_pred[index : index + 1, None], Yc], axis=1)  # the prediction competes too
            Hc = np.concatenate([self.H_pred[index : index + 1, None], Hc], axis=1)
            scores = self.problem.candidate_scores(self.w, x, Yc, Hc)[0]
            pairs, seen = [], set()
            for k in np.argsort(-scores, kind="stable"):
                key = (Yc[0, k].tobytes(), Hc[0, k].tobytes())
                if key not in seen:
                    seen.add(key)
                    pairs.append((_plain(Yc[0, k]), _plain(Hc[0, k]), float(scores[k])))
                if len(pairs) == TOP_K:
                    break
            ranked_over = f"the prediction and {N_PROPOSALS} candidates from the proposal distribution"
        out = {
            "index": index, "label": _plain(self.Y[index]), "predicted": _plain(self.Y_pred[index]),
            "latent": _plain(self.H_pred[index]), "ranked_over": ranked_over,
            "alternatives": [{"label": y, "latent": h, "score": s} for y, h, s in pairs],
        }  # fmt: skip
        if hasattr(self.problem, "window_shape"):  # digits with a latent shift: the canvas and where the window sits
            row, col = (int(v) for v in self.problem.offsets(self.H_pred[index]))
            canvas = np.asarray(self.X[index], dtype=float).reshape(self.problem.image_shape)  # (Hc, Wc)
            out["image"] = {"values": canvas.round(4).tolist(), "window": [row, col, *self.problem.window_shape]}
        return out


__all__ = ["SSVMView"]
