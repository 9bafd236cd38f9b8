"""Model artifacts: a folder per trained model under ``<data root>/_models/`` (or any ``--out``).

    _models/<version>/model.skops   the three fitted estimators (skops format, never pickle)
    _models/<version>/meta.json     library versions, data version, data contract, windows, metrics, report

Loading checks, in this order, and refuses with an ``ArtifactError`` naming the reason:
1. the scikit-learn version that wrote the file is the one running (trees and calibrators are not
   guaranteed to mean the same across versions);
2. the data contract (the store's tables and the feature definitions, or a fitted table's columns) is the
   one the caller expects;
3. the file holds only the types of ``TRUSTED`` (reviewed by hand; ``skops.io.get_untrusted_types`` is
   used to FIND unknown types, never passed back to the loader).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.core import schema, store
from analytics.model import features as feat

if TYPE_CHECKING:
    from analytics.model.training import Fitted

# scikit-learn and skops are imported by the functions that read or write a model file (a few seconds on a
# cold start), so a page that only asks whether a model exists (``latest``, ``ArtifactError``) does not pay them.

MODELS = "_models"
FORMAT = 1
MODEL_FILE = "model.skops"
META_FILE = "meta.json"

# Reviewed by hand: what skops 0.16 does not trust by default in our three estimators. Our own binner; the
# fitted-calibrator and tree-predictor containers of scikit-learn; ``check_array`` (a plain validation function)
# wrapped in ``functools.partial`` by the boosted trees' internal preprocessor. A partial is only rebuilt when
# the function inside it is trusted too.
TRUSTED = [
    "analytics.model.pipeline.TreeBinner",
    "functools.partial",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]


class ArtifactError(Exception):
    """A model artifact that must not be used. ``reason``: missing | sklearn_version | contract | untrusted."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Artifact:
    path: Path
    meta: dict
    model: object  # uncalibrated main pipeline
    calibrated: object
    scorecard: object

    @property
    def version(self) -> str:
        return self.path.name

    @property
    def report(self) -> dict:
        return self.meta["report"]

    def latest_evaluation(self) -> dict | None:
        """The newest ``evaluation-*.json`` the evaluate command wrote next to the model, if any."""
        found = sorted(self.path.glob("evaluation-*.json"))
        if not found:
            return None
        return json.loads(found[-1].read_text(encoding="utf-8")) | {"file": found[-1].name}


def store_contract() -> str:
    """Fingerprint of the store's data contract (tables, columns, dtypes) and the feature definitions."""
    text = "|".join(f"{t.name}:{c.name}:{c.dtype}" for t in schema.TABLES.values() for c in t.columns)
    return "store-" + hashlib.sha1(f"{text}|features{feat.FEATURE_VERSION}".encode()).hexdigest()[:12]


def table_contract(fitted: Fitted) -> str:
    """Fingerprint of a fitted table's feature columns and their roles."""
    card = fitted.report["card"]
    text = f"{card['numeric']}|{card['categorical']}|{card['target']}"
    return "table-" + hashlib.sha1(text.encode()).hexdigest()[:12]


def models_dir(root: str | os.PathLike | None = None) -> Path:
    return store.data_root(root) / MODELS


def save(fitted: Fitted, out: str | os.PathLike, *, contract: str, data_version: str | None = None,
         version: str | None = None) -> Path:
    """Write ``out/<version>/`` (a new folder, moved into place when complete) and return it."""
    now = dt.datetime.now(dt.UTC)
    version = version or now.strftime("%Y%m%dT%H%M%S") + (f"-{data_version[:8]}" if data_version else "")
    out = Path(out)
    target = out / version
    staging = out / f".{version}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    import skops.io as sio

    from analytics.model.training import versions

    bundle = {"model": fitted.model, "calibrated": fitted.calibrated, "scorecard": fitted.scorecard}
    sio.dump(bundle, staging / MODEL_FILE)
    meta = {"format": FORMAT, "created": now.isoformat(timespec="seconds"), "versions": versions(),
            "contract": contract, "data_version": data_version, "report": fitted.report}
    (staging / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def read_meta(path: str | os.PathLike) -> dict:
    return json.loads((Path(path) / META_FILE).read_text(encoding="utf-8"))


def untrusted(path: str | os.PathLike) -> list[str]:
    """Types in the file that are neither skops' defaults nor in ``TRUSTED``."""
    import skops.io as sio

    return sorted(set(sio.get_untrusted_types(file=Path(path) / MODEL_FILE)) - set(TRUSTED))


def load(path: str | os.PathLike, *, contract: str | None = None) -> Artifact:
    """The artifact at ``path`` after the checks of the module docstring (``contract`` None = any)."""
    import sklearn
    import skops.io as sio

    path = Path(path)
    if not (path / MODEL_FILE).is_file() or not (path / META_FILE).is_file():
        raise ArtifactError("missing", f"no model artifact in {path}")
    meta = read_meta(path)
    written = meta.get("versions", {}).get("scikit-learn")
    if written != sklearn.__version__:
        raise ArtifactError("sklearn_version",
                            f"the model in {path.name} was written by scikit-learn {written}; this is "
                            f"{sklearn.__version__}. Retrain it (python -m analytics.model train).")
    if contract is not None and meta.get("contract") != contract:
        raise ArtifactError("contract",
                            f"the model in {path.name} was fitted for data contract {meta.get('contract')}; the "
                            f"data here follow {contract}. Retrain it (python -m analytics.model train).")
    unknown = untrusted(path)
    if unknown:
        raise ArtifactError("untrusted", f"the model file holds types that were not reviewed: {', '.join(unknown)}")
    bundle = sio.load(path / MODEL_FILE, trusted=TRUSTED)
    return Artifact(path, meta, bundle["model"], bundle["calibrated"], bundle["scorecard"])


def latest(out: str | os.PathLike) -> Path | None:
    """The newest complete artifact folder under ``out`` (versions sort by time)."""
    out = Path(out)
    if not out.is_dir():
        return None
    found = sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / META_FILE).is_file())
    return found[-1] if found else None


def load_latest(root: str | os.PathLike | None = None) -> Artifact:
    """The newest store model under ``<data root>/_models/``, checked against the store's contract."""
    path = latest(models_dir(root))
    if path is None:
        raise ArtifactError("missing", f"no model has been trained on {store.data_root(root)} yet "
                                       "(python -m analytics.model train)")
    return load(path, contract=store_contract())
