#!/usr/bin/env bash
# Broken model directories against `run` (--tokens 1,2 -n 1), `chat` (one line of input),
# `serve` and `convert`, each case a copy of a small synthesized checkpoint with the real
# tokenizer of assets/qwen35-tiny, changed in one way. Where a case expects failure the command
# must exit 1 within its time limit, its last line of stderr being the one `mxlm: error:` line,
# which names the culprit (file, tensor or field), and convert must leave no output; never an
# abort, a crash or a hang. Where only optional files are missing or null the command must work
# (serve until SIGTERM, which must stop it; convert into a model that runs). Every mismatch is
# listed at the end, and any fails the test.
set -euo pipefail
/usr/bin/python3 -c "import json" 2>/dev/null || { echo "python3 missing: skipped"; exit 77; }
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"
export HF_HUB_OFFLINE=1  # a path that is not a directory must never turn into a download

# Edits of safetensors and JSON files, in the standard library only.
cat >edit.py <<'PY'
import json, os, struct, sys

def read_tensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None)
    body = data[8 + n:]
    return [[k, v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]]] for k, v in header.items()], meta

def write_tensors(path, tensors, meta):
    header, blobs, offset = ({"__metadata__": meta} if meta else {}), [], 0
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

def edit_path(doc, path, value=None, delete=False):
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        doc = doc[key]
    if delete:
        del doc[keys[-1]]
    else:
        doc[keys[-1]] = json.loads(value)

op, path, *args = sys.argv[1:]
if op in ("set", "del"):  # set FILE KEY.PATH JSON | del FILE KEY.PATH
    doc = json.load(open(path))
    edit_path(doc, args[0], *args[1:], delete=op == "del")
    json.dump(doc, open(path, "w"))
    sys.exit()
tensors, meta = read_tensors(path)
if op == "drop":  # drop FILE TENSOR
    tensors = [t for t in tensors if t[0] != args[0]]
elif op == "dtype":  # dtype FILE TENSOR DTYPE (the bytes stay)
    next(t for t in tensors if t[0] == args[0])[1] = args[1]
elif op == "shape":  # shape FILE TENSOR JSON-SHAPE (the bytes stay)
    next(t for t in tensors if t[0] == args[0])[2] = json.loads(args[1])
elif op == "copy-layer":  # copy-layer FILE FROM TO: every tensor of layer FROM again as layer TO
    tensors += [[t[0].replace(f".layers.{args[0]}.", f".layers.{args[1]}."), *t[1:]] for t in tensors
                if f".layers.{args[0]}." in t[0]]
elif op == "add":  # add FILE TENSOR DTYPE JSON-SHAPE (zeros)
    shape = json.loads(args[2])
    count = 1
    for d in shape:
        count *= d
    tensors.append([args[0], args[1], shape, bytes(count * 2)])
elif op == "shard":  # shard FILE: two shards and the index, as the hub stores large models
    folder = os.path.dirname(path)
    half = len(tensors) // 2
    index = {"metadata": {"total_size": sum(len(t[3]) for t in tensors)}, "weight_map": {}}
    for i, part in enumerate((tensors[:half], tensors[half:])):
        name = f"model-0000{i + 1}-of-00002.safetensors"
        write_tensors(os.path.join(folder, name), part, meta)
        index["weight_map"].update({t[0]: name for t in part})
    json.dump(index, open(os.path.join(folder, "model.safetensors.index.json"), "w"))
    os.remove(path)
    sys.exit()
write_tensors(path, tensors, meta)
PY
edit() { /usr/bin/python3 "$MXLM_WORK/edit.py" "$@"; }

"$MXLM" synth --preset tiny --layers 4 --vocab 8248 --tokenizer "$MXLM_SOURCE_DIR/assets/qwen35-tiny" -o base >/dev/null
# The template both in tokenizer_config.json and in chat_template.jinja, so either can go alone.
/usr/bin/python3 -c "import json; open('base/chat_template.jinja', 'w').write(json.load(open('base/tokenizer_config.json'))['chat_template'])"

L=model.language_model
# name | expected of run, chat, serve, convert (o: works, f: fails naming the culprit) | culprit
cases=(
  "complete|oooo|"
  "sharded|oooo|"
  "no_generation_config|oooo|"
  "no_chat_template_jinja|oooo|"
  "only_required_files|oooo|"
  "tokenizer_config_nulls|oooo|"
  "generation_config_nulls|oooo|"
  "config_hf_nulls|oooo|"
  "vision_tensors|oooo|"
  "quantization_dict_on_float|oooo|"
  "truncated_safetensors|ffff|model\.safetensors"
  "truncated_header|ffff|model\.safetensors"
  "empty_safetensors|ffff|model\.safetensors"
  "safetensors_is_dir|ffff|model\.safetensors"
  "no_safetensors|ffff|safetensors"
  "wrong_dtype|ffff|$L\.norm\.weight"
  "unknown_dtype|ffff|$L\.norm\.weight"
  "missing_tensor|ffff|layers\.1\.mlp\.up_proj"
  "wrong_shape|ffff|layers\.0\.mlp\.down_proj"
  "extra_layer|ffff|layers\.4|num_hidden_layers"
  "hidden_size_mismatch|ffff|hidden_size|embed_tokens"
  "layer_count_mismatch|ffff|layers\.[45]|num_hidden_layers"
  "layers_as_string|ffff|num_hidden_layers"
  "text_config_null|ffff|text_config"
  "text_config_list|ffff|text_config"
  "vocab_size_null|ffff|vocab_size"
  "config_not_json|ffff|config\.json"
  "config_is_list|ffff|config\.json"
  "config_is_dir|ffff|config\.json"
  "no_config|ffff|config\.json"
  "index_missing_shard|ffff|model-00002-of-00002\.safetensors"
  "index_not_json|ffff|model\.safetensors\.index\.json"
  "no_tokenizer|offo|tokenizer\.json"
  "tokenizer_not_json|offf|tokenizer\.json"
  "tokenizer_is_dir|offf|tokenizer\.json"
  "tokenizer_split_without_pattern|offf|tokenizer\.json"
  "tokenizer_huge_id|offf|tokenizer\.json"
  "tokenizer_config_not_json|offf|tokenizer_config\.json"
  "tokenizer_config_is_dir|offf|tokenizer_config\.json"
  "generation_config_not_json|offf|generation_config\.json"
  "generation_config_is_list|offf|generation_config\.json"
  "generation_config_is_dir|offf|generation_config\.json"
  "no_chat_template|offo|chat.template"
  "chat_template_is_dir|offf|chat_template\.jinja"
  "unreadable_config|ffff|config\.json"
  "unreadable_safetensors|ffff|model\.safetensors"
  "unreadable_dir|ffff|case_unreadable_dir"
  "dir_missing|ffff|case_dir_missing"
  "dir_is_file|ffff|case_dir_is_file"
)

# Makes the case's directory from a copy of base; returns 1 when the case cannot be made here.
make_case() {
  local name=$1 d=$2
  cp -r base "$d"
  local st="$d/model.safetensors"
  case $name in
    complete) ;;
    sharded) edit shard "$st" ;;
    no_generation_config) rm "$d/generation_config.json" ;;
    no_chat_template_jinja) rm "$d/chat_template.jinja" ;;
    only_required_files) rm "$d/generation_config.json" "$d/tokenizer_config.json" ;;
    tokenizer_config_nulls)
      for k in bos_token eos_token pad_token unk_token chat_template added_tokens_decoder additional_special_tokens; do
        edit set "$d/tokenizer_config.json" "$k" null
      done ;;
    generation_config_nulls)
      for k in eos_token_id temperature top_k top_p do_sample; do edit set "$d/generation_config.json" "$k" null; done ;;
    config_hf_nulls)  # fields Hugging Face writes as null
      for k in text_config.rope_scaling text_config.sliding_window text_config.attention_dropout quantization_config; do
        edit set "$d/config.json" "$k" null
      done ;;
    vision_tensors)  # Qwen3.5 checkpoints carry the vision tower, which a text model leaves alone
      edit add "$st" model.visual.blocks.0.attn.qkv.weight BF16 '[24, 8]'
      edit set "$d/config.json" vision_config '{"depth": 1, "hidden_size": 8}' ;;
    truncated_safetensors) truncate -s $(($(stat -c %s "$st") / 2)) "$st" ;;
    truncated_header) truncate -s 50 "$st" ;;
    empty_safetensors) : >"$st" ;;
    safetensors_is_dir) rm "$st" && mkdir "$st" ;;
    no_safetensors) rm "$st" ;;
    wrong_dtype) edit dtype "$st" $L.norm.weight I16 ;;
    unknown_dtype) edit dtype "$st" $L.norm.weight Q9 ;;
    missing_tensor) edit drop "$st" $L.layers.1.mlp.up_proj.weight ;;
    wrong_shape) edit shape "$st" $L.layers.0.mlp.down_proj.weight '[384, 128]' ;;
    extra_layer) edit copy-layer "$st" 3 4 ;;
    hidden_size_mismatch) edit set "$d/config.json" text_config.hidden_size 256 ;;
    layer_count_mismatch)
      edit set "$d/config.json" text_config.num_hidden_layers 6
      edit del "$d/config.json" text_config.layer_types ;;
    layers_as_string) edit set "$d/config.json" text_config.num_hidden_layers '"4"' ;;
    text_config_null) edit set "$d/config.json" text_config null ;;
    text_config_list) edit set "$d/config.json" text_config '[]' ;;
    vocab_size_null) edit set "$d/config.json" text_config.vocab_size null ;;
    quantization_dict_on_float)  # as in mlx-lm, a module is quantized when its scales are stored
      edit set "$d/config.json" quantization '{"group_size": 64, "bits": 4, "mode": "affine"}' ;;
    config_not_json) echo '{"model_type": "qwen3_5",' >"$d/config.json" ;;
    config_is_list) echo '[]' >"$d/config.json" ;;
    config_is_dir) rm "$d/config.json" && mkdir "$d/config.json" ;;
    no_config) rm "$d/config.json" ;;
    index_missing_shard) edit shard "$st" && rm "$d/model-00002-of-00002.safetensors" ;;
    index_not_json) edit shard "$st" && echo '{"weight_map": ' >"$d/model.safetensors.index.json" ;;
    no_tokenizer) rm "$d/tokenizer.json" ;;
    tokenizer_not_json) echo '{"model": ' >"$d/tokenizer.json" ;;
    tokenizer_is_dir) rm "$d/tokenizer.json" && mkdir "$d/tokenizer.json" ;;
    tokenizer_split_without_pattern) edit del "$d/tokenizer.json" pre_tokenizer.pretokenizers.0.pattern ;;
    tokenizer_huge_id) edit set "$d/tokenizer.json" model.vocab.zzzz 2147483647 ;;
    tokenizer_config_not_json) echo '{"eos_token": ' >"$d/tokenizer_config.json" ;;
    tokenizer_config_is_dir) rm "$d/tokenizer_config.json" && mkdir "$d/tokenizer_config.json" ;;
    generation_config_not_json) echo '{"eos_token_id": [1,' >"$d/generation_config.json" ;;
    generation_config_is_list) echo '[]' >"$d/generation_config.json" ;;
    generation_config_is_dir) rm "$d/generation_config.json" && mkdir "$d/generation_config.json" ;;
    no_chat_template) rm "$d/chat_template.jinja" && edit del "$d/tokenizer_config.json" chat_template ;;
    chat_template_is_dir) rm "$d/chat_template.jinja" && mkdir "$d/chat_template.jinja" ;;
    unreadable_config) chmod 000 "$d/config.json" ;;
    unreadable_safetensors) chmod 000 "$st" ;;
    unreadable_dir) chmod 000 "$d" ;;
    dir_missing) rm -r "$d" ;;
    dir_is_file) rm -r "$d" && echo "not a model" >"$d" ;;
  esac
}

# Checks a finished command. `rc` and the stderr file; sets `problem` (empty when as expected).
check_result() {
  local expect=$1 culprit=$2 rc=$3 err=$4
  problem=""
  if grep -q 'terminate called\|Aborted\|AddressSanitizer\|runtime error:' "$err"; then
    problem="crashed (rc $rc): $(grep -m 1 'terminate called\|Aborted\|Sanitizer\|runtime error' "$err")"
  elif [ "$expect" = o ]; then
    [ "$rc" -eq 0 ] || problem="rc $rc: $(tail -n 1 "$err")"
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    problem="hung (killed after its time limit)"
  elif [ "$rc" -ne 1 ]; then
    problem="rc $rc, expected 1: $(tail -n 1 "$err")"
  elif [ "$(grep -c '^mxlm: error: ' "$err")" -ne 1 ] || ! tail -n 1 "$err" | grep -q '^mxlm: error: '; then
    problem="no single 'mxlm: error:' line last: $(tail -n 1 "$err")"
  elif ! tail -n 1 "$err" | grep -Eq "$culprit"; then
    problem="does not name /$culprit/: $(tail -n 1 "$err")"
  fi
}

# serve: a failing load must end the process quickly; a good one must get ready and stop on SIGTERM.
run_serve() {
  local expect=$1 culprit=$2 dir=$3 err=$4
  "$MXLM" serve -m "$dir" --port 0 --ctx 512 -t 1 2>"$err" &
  local pid=$! ready="" rc=0
  for _ in $(seq 100); do
    grep -q 'ready; listening on' "$err" && { ready=1; break; }
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$ready" ]; then
    kill -TERM $pid
    for _ in $(seq 30); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    if kill -0 $pid 2>/dev/null; then
      kill -KILL $pid; wait $pid 2>/dev/null || true
      problem="did not stop within 3 s of SIGTERM"
      return
    fi
    wait $pid 2>/dev/null || rc=$?
    if [ "$expect" = f ]; then problem="served the model (expected a load error naming /$culprit/)"
    elif [ "$rc" -ne 0 ]; then problem="rc $rc after SIGTERM"
    else problem=""; fi
    return
  fi
  if kill -0 $pid 2>/dev/null; then
    kill -KILL $pid; wait $pid 2>/dev/null || true
    problem="hung: neither ready nor exited after 10 s: $(tail -n 1 "$err")"
    return
  fi
  wait $pid 2>/dev/null || rc=$?
  check_result "$expect" "$culprit" $rc "$err"
}

failures=()
report() {  # case command
  if [ -n "$problem" ]; then
    failures+=("$1 / $2: $problem")
    printf '  %-8s FAIL  %s\n' "$2" "$problem"
  else
    printf '  %-8s ok\n' "$2"
  fi
}

for entry in "${cases[@]}"; do
  name=${entry%%|*}
  rest=${entry#*|}
  expect=${rest%%|*}
  culprit=${rest#*|}
  d="$MXLM_WORK/case_$name"
  if [[ $name == unreadable_* ]] && [ "$(id -u)" -eq 0 ]; then
    echo "$name: skipped (root reads files whatever their mode)"
    continue
  fi
  echo "$name (run chat serve convert: $expect)"
  make_case "$name" "$d"
  log="$MXLM_WORK/log_$name"
  mkdir -p "$log"

  rc=0
  (timeout 60 "$MXLM" run -m "$d" --tokens 1,2 -n 1 -t 1) >/dev/null 2>"$log/run" || rc=$?
  check_result "${expect:0:1}" "$culprit" $rc "$log/run"
  report "$name" run

  rc=0
  (printf 'hi\n' | timeout 60 "$MXLM" chat -m "$d" -n 1 -t 1 --ctx 512) >/dev/null 2>"$log/chat" || rc=$?
  check_result "${expect:1:1}" "$culprit" $rc "$log/chat"
  report "$name" chat

  run_serve "${expect:2:1}" "$culprit" "$d" "$log/serve"
  report "$name" serve

  out="$MXLM_WORK/out_$name"
  mkdir -p "$out"
  rc=0
  (timeout 120 "$MXLM" convert -i "$d" -o "$out/model" -t 1) >/dev/null 2>"$log/convert" || rc=$?
  check_result "${expect:3:1}" "$culprit" $rc "$log/convert"
  if [ -z "$problem" ] && [ "${expect:3:1}" = f ] && [ -n "$(ls -A "$out")" ]; then
    problem="left output: $(ls -A "$out" | tr '\n' ' ')"
  fi
  if [ -z "$problem" ] && [ "${expect:3:1}" = o ]; then
    rc=0
    (timeout 60 "$MXLM" run -m "$out/model" --tokens 1,2 -n 1 -t 1) >/dev/null 2>"$log/converted" || rc=$?
    [ "$rc" -eq 0 ] || problem="the converted model does not run: $(tail -n 1 "$log/converted")"
  fi
  report "$name" convert
  chmod -R u+rwx "$d" 2>/dev/null || true
  rm -rf "$d" "$out"
done

if [ ${#failures[@]} -gt 0 ]; then
  echo
  echo "${#failures[@]} of the broken-model checks failed:"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
echo "every broken-model check passed"
