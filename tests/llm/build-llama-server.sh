#!/usr/bin/env bash
# Build llama.cpp's `llama-server` from the llama.cpp sources that PyPI's
# `llama-cpp-python` sdist vendors, once per version, into a cache keyed by
# that version; also a Python venv with `gguf` (to write the tests' tiny
# model) and the vocab-only GGUF files llama.cpp ships (to lend it a
# tokenizer). Prints the cache directory. Idempotent: a finished cache is
# reused as it is.
#
#   tests/llm/build-llama-server.sh            # → ~/.cache/jetstress/llama-server-<ver>
#   JETSTRESS_CACHE=/somewhere tests/llm/build-llama-server.sh
set -euo pipefail

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
GGUF_VERSION="0.19.0"
CMAKE_VERSION="3.31.6"
CACHE_ROOT="${JETSTRESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jetstress}"
DIR="$CACHE_ROOT/llama-server-$VERSION"

if [[ -x "$DIR/bin/llama-server" && -x "$DIR/py/bin/python" && -f "$DIR/done" ]]; then
  echo "$DIR"
  exit 0
fi

rm -rf "$DIR"
mkdir -p "$DIR/bin" "$DIR/vocab"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$DIR/py"
"$DIR/py/bin/pip" install -q --disable-pip-version-check \
  "cmake==$CMAKE_VERSION" "gguf==$GGUF_VERSION" >&2

"$DIR/py/bin/pip" download -q --disable-pip-version-check --no-deps \
  --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -d "$work" >&2
tar xzf "$work"/llama_cpp_python-"$VERSION".tar.gz -C "$work"
src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"

"$DIR/py/bin/cmake" -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON >&2
"$DIR/py/bin/cmake" --build "$work/build" --target llama-server -j "$(nproc)" >&2
cp "$work/build/bin/llama-server" "$DIR/bin/"
cp "$src"/models/ggml-vocab-*.gguf "$DIR/vocab/"
touch "$DIR/done"
echo "$DIR"
