#!/usr/bin/env bash
# `mxlm convert` on sources that would not load and on outputs it cannot use: each must end with
# one `mxlm: error:` line naming the culprit and exit 1, leaving no output and no staging
# directory behind; an output replaced with --force survives a failed run; a trailing slash on
# -o changes nothing.
set -euo pipefail
py=/usr/bin/python3
$py -c "import numpy" 2>/dev/null || { echo "numpy for /usr/bin/python3 not installed: skipped"; exit 77; }
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"
"$MXLM" synth --preset tiny --vocab 2048 --seed 5 --tokenizer "$MXLM_SOURCE_DIR/assets/qwen35-tiny" -o base >/dev/null
tokens=1,2,3,4

# Nothing but the expected entries may be left in the working directory: a staging or set-aside
# directory of a failed run would show up here.
expect_entries() {
  local got
  got=$(ls -A | sort | tr '\n' ' ')
  [ "$got" = "$1" ] || { echo "directory holds '$got', expected '$1'"; exit 1; }
}

# expect_error CULPRIT ARGS...: convert exits 1 with one error line that names CULPRIT.
expect_error() {
  local culprit=$1 rc=0
  shift
  "$MXLM" convert "$@" >/dev/null 2>err.txt || rc=$?
  [ "$rc" = 1 ] || { echo "convert $*: exit $rc, expected 1"; cat err.txt; exit 1; }
  [ "$(wc -l <err.txt)" = 1 ] && grep -q '^mxlm: error: ' err.txt || { echo "convert $*: not one error line:"; cat err.txt; exit 1; }
  grep -qF -- "$culprit" err.txt || { echo "convert $*: error does not name '$culprit':"; cat err.txt; exit 1; }
  rm err.txt
}

# broken NAME PYTHON: a copy of base as src-NAME, changed by PYTHON (run inside it, with st =
# tests/reference/safetensors_np.py, cfg = config.json's dict and save_cfg() to write it back).
broken() {
  cp -r base "src-$1"
  (cd "src-$1" && PYTHONPATH="$MXLM_SOURCE_DIR/tests/reference" $py -c "
import json
import numpy as np
import safetensors_np as st
cfg = json.load(open('config.json'))
def save_cfg(): json.dump(cfg, open('config.json', 'w'), indent=2)
def rewrite(change):
    f = st.SafetensorsFile('model.safetensors')
    tensors = {n: st.to_f64(f.raw(n), f.dtype(n)) for n in f.names()}
    change(tensors)
    st.save('model.safetensors', tensors)
$2")
}

# --- Sources whose output would not load: nothing may be written. ---
P=model.language_model
broken missing "rewrite(lambda t: t.pop('$P.layers.1.mlp.down_proj.weight'))"
broken shape "rewrite(lambda t: t.update({'$P.layers.2.mlp.up_proj.weight': np.zeros((384, 64))}))"
broken hidden "cfg['text_config']['hidden_size'] = 256; save_cfg()"
broken more_layers "t = cfg['text_config']; t['num_hidden_layers'] = 12; t['layer_types'] += t['layer_types'][:4]; save_cfg()"
broken fewer_layers "t = cfg['text_config']; t['num_hidden_layers'] = 4; t['layer_types'] = t['layer_types'][:4]; save_cfg()"
broken layers_string "cfg['text_config']['num_hidden_layers'] = '8'; save_cfg()"
broken text_null "cfg['text_config'] = None; save_cfg()"
broken tokenizer_truncated "open('tokenizer.json', 'r+').truncate(1000)"
broken tokenizer_model "d = json.load(open('tokenizer.json')); d['model']['type'] = 'Unigram'; json.dump(d, open('tokenizer.json', 'w'))"
broken template "open('chat_template.jinja', 'w').write('{% for m in messages %}{{ m.content }}')"
broken config_template "d = json.load(open('tokenizer_config.json')); d['chat_template'] = '{{ messages[0].content }'; json.dump(d, open('tokenizer_config.json', 'w'))"
broken generation "open('generation_config.json', 'w').write('{\"eos_token_id\": ')"

expect_error "$P.layers.1.mlp.down_proj.weight' is missing" -i src-missing -o out
expect_error "$P.layers.2.mlp.up_proj.weight' has shape [384, 64], expected [384, 128]" -i src-shape -o out
expect_error "$P.embed_tokens.weight' has shape [2048, 128], expected [2048, 256]" -i src-hidden -o out
expect_error "$P.layers.8." -i src-more_layers -o out
expect_error "layers.4.input_layernorm.weight' is in layer 4, beyond config.json's num_hidden_layers 4" -i src-fewer_layers -o out
expect_error "num_hidden_layers" -i src-layers_string -o out
expect_error "text_config" -i src-text_null -o out
expect_error "tokenizer.json" -i src-tokenizer_truncated -o out
expect_error "tokenizer.json: model type 'Unigram'" -i src-tokenizer_model -o out
expect_error "src-template/chat_template.jinja: template line" -i src-template -o out
expect_error "src-config_template/tokenizer_config.json: template line" -i src-config_template -o out
expect_error "src-generation/generation_config.json" -i src-generation -o out
# The quantizing path checks the same before it plans anything.
expect_error "$P.layers.1.mlp.down_proj.weight' is missing" -i src-missing -o out -q
expect_entries "base src-config_template src-fewer_layers src-generation src-hidden src-layers_string src-missing src-more_layers src-shape src-template src-text_null src-tokenizer_model src-tokenizer_truncated "

# --- The output path. ---
# A trailing slash names the same directory, which loads.
"$MXLM" convert -i base -o out/ >/dev/null
[ -f out/config.json ] && [ -f out/model.safetensors ] && [ -f out/tokenizer.json ] || { echo "out/ is incomplete"; ls -la out; exit 1; }
"$MXLM" run -m out --tokens $tokens -n 1 >/dev/null
# An existing output is refused without --force, before any work and untouched.
sums=$(cd out && sha256sum * | sha256sum)
expect_error "output directory out/ already exists" -i base -o out/
[ "$(cd out && sha256sum * | sha256sum)" = "$sums" ] || { echo "a refused convert changed out/"; exit 1; }
# --force replaces it (also through a trailing slash) with the new conversion.
"$MXLM" convert -i base -o out/ --force -q --q-bits 4 >/dev/null
grep -q '"bits": 4' out/config.json || { echo "--force did not replace out/"; exit 1; }
"$MXLM" run -m out --tokens $tokens -n 1 >/dev/null
# A failed --force run leaves the old output as it was.
sums=$(cd out && sha256sum * | sha256sum)
expect_error "$P.layers.1.mlp.down_proj.weight' is missing" -i src-missing -o out --force
expect_error "tokenizer.json" -i src-tokenizer_truncated -o out/ --force
[ "$(cd out && sha256sum * | sha256sum)" = "$sums" ] || { echo "a failed --force run changed out/"; exit 1; }
# Missing parent directories are created.
"$MXLM" convert -i base -o new/deeper/out >/dev/null
[ -f new/deeper/out/model.safetensors ] || { echo "new/deeper/out not written"; exit 1; }
ls -A new/deeper | grep -qvx out && { echo "leftovers in new/deeper: $(ls -A new/deeper)"; exit 1; }
rm -r new
# Outputs that cannot be used.
touch a_file
expect_error "a_file is not a directory" -i base -o a_file/out
expect_error "a_file exists and is not a directory" -i base -o a_file --force
expect_error "is the source" -i base -o base --force
expect_error "is the source" -i base -o . --force
"$MXLM" run -m base --tokens $tokens -n 1 >/dev/null
rm a_file

# A location that cannot be written to: a read-only mount when running as root (root writes to
# any directory whatever its mode), else a directory without write permission.
mkdir locked
if [ "$(id -u)" = 0 ]; then
  if mount -t tmpfs -o ro,size=64k tmpfs locked 2>/dev/null; then
    trap 'umount "$MXLM_WORK/locked" 2>/dev/null || true' EXIT
    expect_error "cannot write to $MXLM_WORK/locked: Read-only file system" -i base -o locked/out
    umount locked
    trap - EXIT
  else
    echo "no read-only mount as root here: the read-only output case is not run"
  fi
else
  chmod 555 locked
  expect_error "cannot write to $MXLM_WORK/locked: Permission denied" -i base -o locked/out
  expect_error "cannot write to $MXLM_WORK/locked: Permission denied" -i base -o locked/sub/out
  chmod 755 locked
fi
[ -z "$(ls -A locked)" ] || { echo "written into locked/: $(ls -A locked)"; exit 1; }
rmdir locked
expect_entries "base out src-config_template src-fewer_layers src-generation src-hidden src-layers_string src-missing src-more_layers src-shape src-template src-text_null src-tokenizer_model src-tokenizer_truncated "
echo "convert errors: ok"
