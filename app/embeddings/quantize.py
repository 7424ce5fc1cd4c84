"""An int8 variant of a local ONNX model folder, made with ONNX Runtime's dynamic quantization
(int8 weights, activations quantized at run time). On msmarco-5k it cost MiniLM 0.9 points
of nDCG@10 (0.789 vs 0.798) and embedded 1.9x as fast (docs/benchmarks/ingest.md,
bench/embed_int8.py).

    pip install 'pgask[int8]'
    python -m app.embeddings.quantize ../shared/models/all-MiniLM-L6-v2-onnx ~/models/minilm-int8
    EMBEDDING_MODEL_PATH=~/models/minilm-int8

The folder carries a marker file, so the local provider reports the model as
`<name>@int8`: a collection embedded with one variant refuses the other (vectors of the
two are close but not the same).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from app.errors import ConfigError

MARKER = "pgask-quantization.json"
MODEL_FILE = "model.onnx"


def quantize_int8(source: Path, target: Path) -> Path:
    """Copy the model folder `source` to `target` with its model.onnx quantized to int8."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # onnxruntime.quantization needs the `onnx` package
        raise ConfigError(f"int8 quantization needs `pip install 'pgask[int8]'`: {exc}") from exc
    if not (source / MODEL_FILE).is_file():
        raise ConfigError(f"{source} has no {MODEL_FILE}")
    if target.exists():
        raise ConfigError(f"{target} already exists")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(MODEL_FILE, MARKER))
    quantize_dynamic(source / MODEL_FILE, target / MODEL_FILE, weight_type=QuantType.QInt8)
    marker = {"variant": "int8", "method": "onnxruntime quantize_dynamic", "weights": "QInt8"}
    (target / MARKER).write_text(json.dumps(marker) + "\n")
    return target


def variant_of(model_path: Path | None) -> str | None:
    """ "int8" for a folder made by `quantize_int8`, None for an original model."""
    if model_path is None or not (model_path / MARKER).is_file():
        return None
    return str(json.loads((model_path / MARKER).read_text())["variant"])


def main() -> None:
    parser = argparse.ArgumentParser(description="Write an int8 copy of a local model folder.")
    parser.add_argument("source", type=Path, help="model folder holding model.onnx")
    parser.add_argument("target", type=Path, help="new folder for the int8 model")
    args = parser.parse_args()
    try:
        written = quantize_int8(args.source.expanduser(), args.target.expanduser())
    except ConfigError as exc:
        raise SystemExit(f"quantize: error: {exc}") from exc
    sys.stdout.write(f"wrote {written}; set EMBEDDING_MODEL_PATH={written}\n")


if __name__ == "__main__":
    main()
