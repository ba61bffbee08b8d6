"""PyTorch baseline for FlexLLM's LoRA finetuning: tokens/s and activation memory of one training step.

A LLaMA of a synthetic model's shape (the configs of org.flexllm.model.SyntheticModel) is built in plain
PyTorch with random frozen weights and LoRA on the chosen projections (PEFT semantics, dropout 0). One
step is the forward of one sequence with the causal-LM loss, backward, AdamW step and zero_grad.
Activation memory is what autograd saves for backward during the forward, each storage counted once.
"""
import argparse
import ctypes
import json
import math
import os
import re
import statistics
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Config:
    hidden: int
    inter: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    rope_theta: float
    llama3_scaling: tuple  # (factor, low_freq_factor, high_freq_factor, original_max_positions) or None
    tied: bool
    eps: float = 1e-5

    @property
    def head_dim(self):
        return self.hidden // self.heads


LLAMA32_SCALING = (32.0, 1.0, 4.0, 8192)
LLAMA31_SCALING = (8.0, 1.0, 4.0, 8192)
MODELS = {
    "smollm-135m": Config(576, 1536, 30, 9, 3, 49152, 10000.0, None, True),
    "llama-1b": Config(2048, 8192, 16, 32, 8, 128256, 500000.0, LLAMA32_SCALING, True),
    "llama-8b-2l": Config(4096, 14336, 2, 32, 8, 128256, 500000.0, LLAMA31_SCALING, False),
    "tiny": Config(64, 160, 2, 4, 2, 512, 10000.0, None, True),
}
PROJECTIONS = ("q", "k", "v", "o", "gate", "up", "down")


def frozen_uniform(rows, cols, variance):
    """A frozen weight uniform in ±sqrt(3·variance), as SyntheticModel draws them."""
    bound = math.sqrt(3 * variance)
    return nn.Parameter(torch.empty(rows, cols).uniform_(-bound, bound), requires_grad=False)


class LoraLinear(nn.Module):
    """A frozen bias-free Linear; with r > 0, plus PEFT's bypass (alpha/r)·(x Aᵀ)Bᵀ, A kaiming-uniform, B zero."""

    def __init__(self, in_features, out_features, r, alpha):
        super().__init__()
        self.weight = frozen_uniform(out_features, in_features, 1.0 / in_features)
        self.lora_A = self.lora_B = None
        if r > 0:
            self.lora_A = nn.Parameter(torch.empty(r, in_features))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            self.lora_B = nn.Parameter(torch.zeros(out_features, r))
            self.scale = alpha / r

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.lora_A is None:
            return y
        return y + self.scale * F.linear(F.linear(x, self.lora_A), self.lora_B)


class RMSNorm(nn.Module):
    """HF's LlamaRMSNorm: normalized in fp32, scaled by a frozen weight (ones) in the model's dtype."""

    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


def inverse_frequencies(cfg):
    """RoPE inverse frequencies, with Llama 3's per-frequency stretch when the config has one."""
    inv = 1.0 / cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2).float() / cfg.head_dim)
    if cfg.llama3_scaling is None:
        return inv
    factor, low, high, original = cfg.llama3_scaling
    wavelen = 2 * math.pi / inv
    stretched = torch.where(wavelen > original / low, inv / factor, inv)
    smooth = (original / wavelen - low) / (high - low)
    blended = (1 - smooth) * stretched / factor + smooth * stretched
    medium = (wavelen >= original / high) & (wavelen <= original / low)
    return torch.where(medium, blended, stretched)


def rope_tables(cfg, seq_len, dtype):
    """cos and sin of every position's angles, [seq_len, head_dim], halves repeated as rotate_half expects."""
    angles = torch.outer(torch.arange(seq_len).float(), inverse_frequencies(cfg))
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def causal_mask(seq_len, dtype):
    """Additive mask: the most negative value above the diagonal, as HF's eager LLaMA adds to the scores."""
    return torch.full((seq_len, seq_len), torch.finfo(dtype).min, dtype=dtype).triu(1)


def eager_attention(q, k, v, mask):
    """Softmax(QKᵀ/√d + mask)·V with the probabilities materialized (and saved by autograd)."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    return probs @ v


def sdpa_attention(q, k, v, mask):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class Attention(nn.Module):
    """Grouped-query attention with RoPE on q and k; kv heads repeated to the query heads as HF's repeat_kv."""

    def __init__(self, cfg, lora):
        super().__init__()
        q_dim, kv_dim = cfg.heads * cfg.head_dim, cfg.kv_heads * cfg.head_dim
        self.q_proj = lora("q", cfg.hidden, q_dim)
        self.k_proj = lora("k", cfg.hidden, kv_dim)
        self.v_proj = lora("v", cfg.hidden, kv_dim)
        self.o_proj = lora("o", q_dim, cfg.hidden)
        self.cfg = cfg

    def heads(self, x, n):
        """[batch, seq, n·d] to [batch, n, seq, d]."""
        return x.view(x.shape[0], x.shape[1], n, self.cfg.head_dim).transpose(1, 2)

    def forward(self, x, cos, sin, mask, attend):
        cfg = self.cfg
        groups = cfg.heads // cfg.kv_heads
        q = rope(self.heads(self.q_proj(x), cfg.heads), cos, sin)
        k = rope(self.heads(self.k_proj(x), cfg.kv_heads), cos, sin).repeat_interleave(groups, dim=1)
        v = self.heads(self.v_proj(x), cfg.kv_heads).repeat_interleave(groups, dim=1)
        out = attend(q, k, v, mask)
        return self.o_proj(out.transpose(1, 2).reshape(x.shape[0], x.shape[1], -1))


class Mlp(nn.Module):
    """SwiGLU: down(silu(gate(x)) · up(x))."""

    def __init__(self, cfg, lora):
        super().__init__()
        self.gate_proj = lora("gate", cfg.hidden, cfg.inter)
        self.up_proj = lora("up", cfg.hidden, cfg.inter)
        self.down_proj = lora("down", cfg.inter, cfg.hidden)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg, lora):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden, cfg.eps)
        self.self_attn = Attention(cfg, lora)
        self.post_attention_layernorm = RMSNorm(cfg.hidden, cfg.eps)
        self.mlp = Mlp(cfg, lora)

    def forward(self, x, cos, sin, mask, attend):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, attend)
        return h + self.mlp(self.post_attention_layernorm(h))


class Llama(nn.Module):
    """A LLaMA whose forward returns the causal-LM loss of the sequence (labels = inputs shifted by one)."""

    def __init__(self, cfg, targets, r, alpha, attend):
        super().__init__()

        def lora(name, in_features, out_features):
            return LoraLinear(in_features, out_features, r if name in targets else 0, alpha)

        self.embed_tokens = frozen_uniform(cfg.vocab, cfg.hidden, 1.0)
        self.layers = nn.ModuleList(DecoderLayer(cfg, lora) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.hidden, cfg.eps)
        self.lm_head = self.embed_tokens if cfg.tied else frozen_uniform(cfg.vocab, cfg.hidden, 1.0 / cfg.hidden)
        self.cfg = cfg
        self.attend = attend

    def forward(self, ids):
        dtype = self.embed_tokens.dtype
        cos, sin = rope_tables(self.cfg, ids.shape[1], dtype)
        mask = causal_mask(ids.shape[1], dtype)
        h = F.embedding(ids, self.embed_tokens)
        for layer in self.layers:
            h = layer(h, cos, sin, mask, self.attend)
        logits = F.linear(self.norm(h), self.lm_head).float()
        return F.cross_entropy(logits[0, :-1], ids[0, 1:])


def train_step(model, optimizer, ids):
    model(ids).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


class SavedBytes:
    """Sums the storages autograd saves for backward, each once, parameters excluded, by region of the forward."""

    def __init__(self, model):
        self.parameters = {p.storage().data_ptr() for p in model.parameters()}
        self.seen = set()
        self.bytes = {"layers": 0, "head": 0}
        self.region = "layers"

    def pack(self, tensor):
        storage = tensor.storage()
        if storage.data_ptr() not in self.parameters and storage.data_ptr() not in self.seen:
            self.seen.add(storage.data_ptr())
            self.bytes[self.region] += storage.nbytes()
        return tensor


class MallInfo2(ctypes.Structure):
    """glibc's struct mallinfo2."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def heap_bytes_in_use():
    """Bytes malloc has handed out and not taken back (glibc: all arenas plus mmapped blocks); torch's CPU
    tensors live there."""
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def measure_activations(model, ids):
    """One forward under saved-tensor hooks; returns saved bytes by region and the heap the forward left in use."""
    saved = SavedBytes(model)
    # The final norm starts the head region: final norm, lm_head and loss, whose size grows with the vocabulary.
    hook = model.norm.register_forward_pre_hook(lambda *_: setattr(saved, "region", "head"))
    before = heap_bytes_in_use()
    with torch.autograd.graph.saved_tensors_hooks(saved.pack, lambda tensor: tensor):
        loss = model(ids)
    grown = heap_bytes_in_use() - before
    loss.backward()
    hook.remove()
    model.zero_grad(set_to_none=True)
    return saved.bytes, grown


def openblas_library():
    """The OpenBLAS shared object torch loaded (through Debian's libblas.so.3 alternative), or None."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "libopenblas" in line}
    return min(paths) if paths else None


def blas_info():
    match = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return match.group(1) if match else "none"


def set_threads(n, blas_library):
    """Torch's intra-op threads; OpenBLAS keeps its own pool, which torch.set_num_threads does not reach."""
    torch.set_num_threads(n)
    if blas_library:
        ctypes.CDLL(blas_library).openblas_set_num_threads(n)


def attention_function(use_sdpa):
    if not use_sdpa:
        return eager_attention
    if not hasattr(F, "scaled_dot_product_attention"):
        raise SystemExit(f"--sdpa: torch {torch.__version__} has no scaled_dot_product_attention "
                         "(added in torch 2.0); run without --sdpa for eager attention")
    return sdpa_attention


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS), default="smollm-135m")
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=float, default=32)
    p.add_argument("--targets", default=",".join(PROJECTIONS),
                   help="comma-separated projections with LoRA, of " + ",".join(PROJECTIONS))
    p.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32",
                   help="dtype of weights and activations (the loss is computed in fp32)")
    p.add_argument("--keep-denormals", action="store_true",
                   help="keep IEEE denormals (PyTorch's default) instead of flushing them to zero: the synthetic "
                        "models' wide logits make many loss gradients denormal, which slows the fp32 lm_head "
                        "backward a hundredfold, a cost a trained model does not have")
    p.add_argument("--sdpa", action="store_true", help="fused scaled_dot_product_attention (torch >= 2.0)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args()
    unknown = set(args.targets.split(",")) - set(PROJECTIONS)
    if unknown:
        p.error(f"--targets: unknown projections {sorted(unknown)}; known: {','.join(PROJECTIONS)}")
    return args


def run(args):
    blas_library = openblas_library()
    set_threads(args.threads, blas_library)
    # Flushed by default so that PyTorch is not slowed by an artifact of random weights (see --keep-denormals).
    flush_denormal = not args.keep_denormals and torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    cfg = MODELS[args.model]
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    model = Llama(cfg, set(args.targets.split(",")), args.lora_r, args.lora_alpha,
                  attention_function(args.sdpa)).to(dtype)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, cfg.vocab, (1, args.seq_len))
    for _ in range(args.warmup):
        train_step(model, optimizer, ids)
    saved, heap_growth = measure_activations(model, ids)
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        train_step(model, optimizer, ids)
        times.append(time.perf_counter() - start)
    step = statistics.median(times)
    return {
        "framework": "pytorch", "torch_version": torch.__version__, "model": args.model,
        "seq_len": args.seq_len, "lora_r": args.lora_r, "lora_alpha": args.lora_alpha,
        "targets": args.targets, "threads": args.threads,
        "gomp_spincount": os.environ.get("GOMP_SPINCOUNT", "default"), "dtype": args.dtype,
        "attention": "sdpa" if args.sdpa else "eager", "flush_denormal": flush_denormal,
        "steps": args.steps,
        "tokens_per_s": round(args.seq_len / step, 2), "step_ms_median": round(step * 1000, 1),
        "step_ms_all": [round(t * 1000, 1) for t in times],
        "activation_bytes_per_token": round(sum(saved.values()) / args.seq_len),
        "activation_bytes_per_token_layers": round(saved["layers"] / args.seq_len),
        "activation_bytes_per_token_head": round(saved["head"] / args.seq_len),
        "heap_growth_bytes_per_token": round(heap_growth / args.seq_len),
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "blas": blas_info(), "blas_library": blas_library,
    }


def print_human(r):
    mib = 1 << 20
    print(f"PyTorch {r['torch_version']} LoRA step, {r['model']}, seq {r['seq_len']}, r={r['lora_r']} "
          f"alpha={r['lora_alpha']} on {r['targets']}, {r['threads']} threads (GOMP_SPINCOUNT {r['gomp_spincount']}), "
          f"computing in {r['dtype']}, "
          f"{r['attention']} attention{', denormals flushed' if r['flush_denormal'] else ''}")
    print(f"  BLAS: {r['blas']} ({r['blas_library']}); trainable parameters: {r['trainable_params']:,}")
    print(f"  step: {r['step_ms_median']} ms median of {r['step_ms_all']} ms  ->  {r['tokens_per_s']} tokens/s")
    print(f"  activations saved for backward: {r['activation_bytes_per_token'] / 1024:.1f} KiB/token "
          f"({r['activation_bytes_per_token'] * r['seq_len'] / mib:.1f} MiB per sequence; "
          f"decoder layers {r['activation_bytes_per_token_layers'] / 1024:.1f} KiB/token, "
          f"final norm + lm_head + loss {r['activation_bytes_per_token_head'] / 1024:.1f} KiB/token)")
    print(f"  cross-check, heap left in use by the forward (mallinfo2): "
          f"{r['heap_growth_bytes_per_token'] / 1024:.1f} KiB/token")


def main():
    args = parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        print_human(result)


if __name__ == "__main__":
    main()
