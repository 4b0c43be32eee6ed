#!/usr/bin/env python3
"""Train an rnn character model with PyTorch: one process, or many with torchrun (DDP).

This file was written by `rnn export --pytorch`. It needs nothing but PyTorch: it reads
the job beside it (job.json, and start.safetensors when the job was exported from a
checkpoint), trains the model that `rnn train` would train, on the same data in the same
order, and writes `rnn` checkpoints that `rnn sample`, `rnn eval`, `rnn score` and
`rnn train --resume` read.

    python3 train.py --data book.txt --steps 2000                 # one process (CPU or one GPU)
    torchrun --nproc_per_node 8 train.py --data book.txt --time 2h  # DistributedDataParallel

What is the same as `rnn train` (so a run can move between the two and go on exactly):
- the text: UTF-8 (a byte-order mark dropped), a folder's text files in sorted order;
  the vocabulary: the distinct code points in code-point order (or the checkpoint's);
- the split: the last ⌊N·val_frac⌋ characters are validation;
- the batches: B contiguous streams of S = ⌊(N−1)/B⌋ inputs; window w of a pass takes
  x[t,b] = ids[b·S + w·T + t], y = x shifted by one; the state is carried from window to
  window and reset when a pass starts; position = `cursor`, windows served so far;
- the model: Embedding → LSTM / GRU (PyTorch's, = rnn's gru-torch) / RNN → Linear, with
  dropout between layers and before the output layer; rnn's initialisation;
- the loss (mean cross-entropy over T·B), the clipping (global norm, scale by max/norm when
  above max), the optimizer (Adam, RMSprop, SGD with momentum: the same update rules and
  moments), the schedule (constant, step, cosine with warm-up; with only --time the
  cosine is planned over the steps estimated to fit), validation, best/last checkpoints,
  patience, NaN rollback with a halved learning rate.

With several processes the B streams are split evenly across the ranks (B must be a
multiple of the number of processes); DDP averages the gradients, so the update is the
mean over all B·T characters, as in one process. Validation and saving run on rank 0.

Checkpoints go to --out (default: out/ beside this file) as
<corpus>-<yyyymmdd-hhmmss>-<4 hex>-{best,last}.safetensors, written atomically (temporary
file, fsync, rename) by rank 0. Progress goes to stderr; --json writes one JSON object per
event to stdout, as `rnn train --json` does.
"""
import argparse
import datetime
import json
import math
import os
import re
import secrets
import struct
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FORMAT_NAME = 'rnn-charlm'
FORMAT_VERSION = 1
CELLS = ('lstm', 'gru-torch', 'rnn', 'rnn-relu')
MIN_LR_FRAC = 0.1        # the cosine schedule's floor, as a fraction of lr
MAX_ROLLBACKS = 3
OPTIM = {                # rnn's defaults (src/nn/optim.ts)
    'adam': {'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-8},
    'rmsprop': {'beta1': 0.0, 'beta2': 0.95, 'eps': 1e-8},
    'sgd': {'beta1': 0.9, 'beta2': 0.0, 'eps': 0.0},
}


class JobError(Exception):
    """A problem the user can fix; printed as one line, exit status 1 (2 for usage)."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- the text

def decode_text(data, name):
    if data.startswith(b'\xef\xbb\xbf'):
        data = data[3:]
    if b'\x00' in data:
        raise JobError(f'{name}: looks like a binary file (a NUL byte); give a UTF-8 text file')
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise JobError(f'{name}: is not valid UTF-8 (byte {e.start}); convert it to UTF-8 first')


def read_corpus(path):
    """A file, or a folder's text files (dotfiles skipped) in sorted order, concatenated."""
    if os.path.isfile(path):
        with open(path, 'rb') as f:
            text = decode_text(f.read(), path)
    elif os.path.isdir(path):
        files = []
        for root, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith('.')]
            files += [os.path.relpath(os.path.join(root, n), path) for n in names if not n.startswith('.')]
        parts = []
        for rel in sorted(files, key=lambda p: p.split(os.sep)):
            with open(os.path.join(path, rel), 'rb') as f:
                data = f.read()
            body = data[3:] if data.startswith(b'\xef\xbb\xbf') else data
            if not body or b'\x00' in body:
                continue  # empty and binary files are skipped, as rnn does
            parts.append(decode_text(data, os.path.join(path, rel)))
        text = ''.join(parts)
    else:
        raise JobError(f'{path}: no such file or folder; pass --data with the text to train on')
    if not text:
        raise JobError(f'{path}: holds no text')
    return text


def run_name(data_path):
    stem = os.path.basename(os.path.abspath(data_path))
    stem = re.sub(r'[^\w.-]+', '_', re.sub(r'\.[^.]*$', '', stem)) or 'corpus'
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    return f'{stem}-{stamp}-{secrets.token_hex(2)}'


class Batcher:
    """rnn's loader (src/text/batches.ts): B contiguous streams, windows of T, a cursor."""

    def __init__(self, ids, B, T, label='the training text'):
        if len(ids) < B * T + 1:
            raise JobError(f'{label} has {len(ids)} characters, but batch {B} × seq {T} needs at least {B * T + 1}')
        self.ids, self.B, self.T = ids, B, T
        self.S = (len(ids) - 1) // B
        self.windows_per_epoch = self.S // T
        self.cursor = 0

    def next(self, rows):
        """x, y [T, len(rows)] (time-major) for the given stream rows; True when a pass starts."""
        w = self.cursor % self.windows_per_epoch
        T, S = self.T, self.S
        starts = torch.tensor([b * S + w * T for b in rows], dtype=torch.long)
        idx = starts[None, :] + torch.arange(T, dtype=torch.long)[:, None]
        self.cursor += 1
        return self.ids[idx], self.ids[idx + 1], w == 0


def eval_plan(n, B, T, max_windows=0):
    """src/train/evaluate.ts: the validation windows scored at every evaluation."""
    if n < 2:
        return None
    t = min(T, n - 1)
    b = max(1, min(B, (n - 1) // t))
    all_windows = ((n - 1) // b) // t
    windows = min(max_windows, all_windows) if max_windows > 0 else all_windows
    return {'B': b, 'T': t, 'windows': windows, 'chars': windows * b * t}


# ---------------------------------------------------------------- the model

class CharModel(torch.nn.Module):
    """ids [T,B] → logits [T,B,V]; parameter names are rnn's tensor names."""

    def __init__(self, cell, V, E, H, L, dropout):
        super().__init__()
        self.cell, self.H, self.L = cell, H, L
        self.embed = torch.nn.Embedding(V, E)
        between = dropout if L > 1 else 0.0
        if cell == 'lstm':
            self.rnn = torch.nn.LSTM(E, H, L, dropout=between)
        elif cell == 'gru-torch':
            self.rnn = torch.nn.GRU(E, H, L, dropout=between)
        else:
            self.rnn = torch.nn.RNN(E, H, L, nonlinearity='relu' if cell == 'rnn-relu' else 'tanh', dropout=between)
        self.drop = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(H, V)

    def forward(self, ids, state):
        out, state = self.rnn(self.embed(ids), state)
        return self.head(self.drop(out)), state

    def zero_state(self, B, device):
        h = torch.zeros(self.L, B, self.H, device=device)
        return (h, torch.zeros_like(h)) if self.cell == 'lstm' else h


def rnn_init(model, seed):
    """rnn's initialisation: N(0,1) embedding, uniform ±1/√H elsewhere, LSTM forget bias 1."""
    g = torch.Generator().manual_seed(seed)
    bound = 1 / math.sqrt(model.H)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == 'embed.weight':
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.rand(p.shape, generator=g) * 2 * bound - bound)
        if model.cell == 'lstm':
            H = model.H
            for l in range(model.L):
                getattr(model.rnn, f'bias_ih_l{l}')[H:2 * H] = 1
                getattr(model.rnn, f'bias_hh_l{l}')[H:2 * H] = 0


def param_names(cfg):
    """Tensor order of an rnn checkpoint (src/nn/model.ts paramSpecs)."""
    names = ['embed.weight']
    for l in range(cfg['layers']):
        names += [f'rnn.weight_ih_l{l}', f'rnn.weight_hh_l{l}', f'rnn.bias_ih_l{l}', f'rnn.bias_hh_l{l}']
    return names + ['head.weight', 'head.bias']


# ---------------------------------------------------------------- the optimizer and schedule

def make_optimizer(params, name, weight_decay):
    c = OPTIM[name]
    if name == 'adam':
        # rnn folds the bias correction into the step size and ε: p −= lr·√bc2/bc1 · m/(√v + ε·√bc2),
        # which is exactly torch's p −= lr/bc1 · m/(√v/√bc2 + ε); decoupled decay = AdamW
        cls = torch.optim.AdamW if weight_decay > 0 else torch.optim.Adam
        return cls(params, lr=1.0, betas=(c['beta1'], c['beta2']), eps=c['eps'], weight_decay=weight_decay)
    if name == 'rmsprop':
        return torch.optim.RMSprop(params, lr=1.0, alpha=c['beta2'], eps=c['eps'])
    return torch.optim.SGD(params, lr=1.0, momentum=c['beta1'])


MOMENT_KEYS = {'adam': {'m': 'exp_avg', 'v': 'exp_avg_sq'}, 'rmsprop': {'v': 'square_avg'}, 'sgd': {'m': 'momentum_buffer'}}


WARMUP_FRAC = 0.05       # a time-bounded run's warm-up ends by this share of its budget


def learning_rate(cfg, step, total, warmup, time_fraction=None):
    """src/train/schedule.ts: the rate of the update that ends step `step` (0-based);
    time_fraction = elapsed / budget with --time (the cosine then follows the clock)."""
    lr, name = cfg['lr'], cfg['schedule']
    if name == 'constant':
        return lr
    if name == 'step':
        return lr * cfg['decay'] ** (step // max(1, cfg['decayEvery']))
    low = lr * MIN_LR_FRAC

    def cosine(progress):
        return low + 0.5 * (lr - low) * (1 + math.cos(math.pi * min(1.0, max(0.0, progress))))
    by_time = -1.0 if time_fraction is None else time_fraction
    if total > 0:
        if warmup > 0 and step < warmup and by_time < WARMUP_FRAC:
            return lr * (step + 1) / warmup
        by_steps = 0.0 if total <= warmup else (step - warmup) / (total - warmup)
        return cosine(max(by_steps, by_time))
    if by_time >= 0:
        warm = min(1.0, max((step + 1) / warmup, by_time / WARMUP_FRAC)) if warmup > 0 else 1.0
        return warm * cosine(by_time)
    return lr * (step + 1) / warmup if warmup > 0 and step < warmup else lr


# ---------------------------------------------------------------- rnn's random streams

def rnn_rng_state(seed):
    """The state of rnn's Rng(seed) (xoshiro128** seeded by splitmix32), so rnn can resume."""
    s = seed & 0xffffffff
    words = []
    for _ in range(4):
        s = (s + 0x9e3779b9) & 0xffffffff
        z = s
        z = ((z ^ (z >> 16)) * 0x85ebca6b) & 0xffffffff
        z = ((z ^ (z >> 13)) * 0xc2b2ae35) & 0xffffffff
        words.append((z ^ (z >> 16)) & 0xffffffff)
    return words + [None]


# ---------------------------------------------------------------- safetensors, by hand

def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 8:
        raise JobError(f'{path}: too short to be a safetensors file')
    (n,) = struct.unpack('<Q', data[:8])
    if n > len(data) - 8:
        raise JobError(f'{path}: damaged header length')
    header = json.loads(data[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', {})
    tensors = {}
    for name, info in header.items():
        if info['dtype'] != 'F32':
            raise JobError(f'{path}: tensor {name} has dtype {info["dtype"]}, expected F32')
        begin, end = info['data_offsets']
        raw = bytearray(data[8 + n + begin:8 + n + end])
        t = torch.frombuffer(raw, dtype=torch.float32) if raw else torch.zeros(0)
        tensors[name] = t.reshape(info['shape']).clone()
    return meta, tensors


def encode_safetensors(tensors, meta):
    header, offset, blobs = {}, 0, []
    for name, t in tensors:
        raw = t.detach().to('cpu', torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    header['__metadata__'] = meta
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def write_atomic(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f'.{os.path.basename(path)}.{secrets.token_hex(4)}.tmp')
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the run

def parse_duration(text):
    m = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*', text)
    if not m:
        raise argparse.ArgumentTypeError(f'{text!r} is not a duration; use e.g. 90s, 15m, 2h')
    return float(m.group(1)) * {'ms': 1, 's': 1000, 'm': 60_000, 'h': 3_600_000, None: 1000}[m.group(2)]


def positive_int(text):
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1 (got {v})')
    return v


def parse_args(argv):
    p = argparse.ArgumentParser(description='Train an rnn model with PyTorch (see the docstring and README.md beside this file).')
    p.add_argument('--data', required=True, help='the text: a UTF-8 file or a folder of text files')
    p.add_argument('--steps', type=positive_int, help='stop after this many steps in total (counting the run\'s earlier steps)')
    p.add_argument('--epochs', type=float, help='stop after this many passes over the text in total')
    p.add_argument('--time', type=parse_duration, help='stop after this much training time in total, e.g. 90s, 15m, 2h')
    p.add_argument('--out', default=os.path.join(HERE, 'out'), help='checkpoint folder (default: out/ beside this file)')
    p.add_argument('--eval-every', type=int, help='validate and save every n steps (0: only at the end)')
    p.add_argument('--eval-windows', type=int, help='validation windows scored per evaluation (0: all)')
    p.add_argument('--patience', type=int, help='stop after n evaluations without improvement (0: never)')
    p.add_argument('--resume', help='continue from this rnn checkpoint instead of the job\'s start')
    p.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'])
    p.add_argument('--compile', action='store_true', help='torch.compile the model (where it works)')
    p.add_argument('--json', action='store_true', help='one JSON object per event on stdout')
    p.add_argument('--json-every', type=positive_int, default=10)
    p.add_argument('-q', '--quiet', action='store_true')
    return p.parse_args(argv)


class Run:
    def __init__(self, args):
        self.args = args
        self.world = int(os.environ.get('WORLD_SIZE', '1'))
        self.rank = int(os.environ.get('RANK', '0'))
        use_cuda = args.device == 'cuda' or (args.device == 'auto' and torch.cuda.is_available())
        if use_cuda:
            local = int(os.environ.get('LOCAL_RANK', '0'))
            torch.cuda.set_device(local)
            self.device = torch.device('cuda', local)
        else:
            self.device = torch.device('cpu')
        if self.world > 1:
            dist.init_process_group('nccl' if use_cuda else 'gloo')
        self.lead = self.rank == 0
        self.interrupted = False

    def on_signal(self, signum, frame):
        if self.interrupted:
            raise KeyboardInterrupt  # a second signal: stop at once
        self.interrupted = True
        self.say('interrupted: finishing this step and saving (again to quit at once)')

    def say(self, line):
        if self.lead and not self.args.quiet:
            print(line, file=sys.stderr, flush=True)

    def event(self, obj):
        if self.lead and self.args.json:
            print(json.dumps(clean(obj)), flush=True)

    # -- setup

    def load_job(self):
        job_file = os.path.join(HERE, 'job.json')
        if not os.path.exists(job_file):
            raise JobError(f'{job_file} is missing; export the job again with rnn export --pytorch DIR')
        with open(job_file, encoding='utf-8') as f:
            job = json.load(f)
        start = self.args.resume or (os.path.join(HERE, job['start']) if job.get('start') else None)
        ckpt = None
        if start:
            meta, tensors = read_safetensors(start)
            if meta.get('format') != FORMAT_NAME:
                raise JobError(f'{start}: not an rnn checkpoint')
            if meta.get('task', 'lm') != 'lm':
                raise JobError(f'{start}: holds a {meta["task"]} model; this job trains language models')
            ckpt = {'file': start, 'meta': meta, 'tensors': tensors}
            model_cfg = json.loads(meta['model'])
            cfg = json.loads(meta['train']) if 'train' in meta else dict(job['train'])
        else:
            model_cfg = dict(job['model'])
            cfg = dict(job['train'])
        if model_cfg['cell'] not in CELLS:
            raise JobError(f'cell {model_cfg["cell"]} has no PyTorch module with the same formulation; '
                           f'use one of {", ".join(CELLS)}')
        a = self.args
        if a.steps is not None or a.epochs is not None or a.time is not None:
            cfg['steps'], cfg['epochs'], cfg['timeMs'] = a.steps or 0, a.epochs or 0, a.time or 0
        for flag, key in (('eval_every', 'evalEvery'), ('eval_windows', 'evalWindows'), ('patience', 'patience')):
            if getattr(a, flag) is not None:
                cfg[key] = getattr(a, flag)
        cfg.setdefault('dropout', 0)
        return job, model_cfg, cfg, ckpt

    def setup(self):
        job, model_cfg, cfg, ckpt = self.load_job()
        self.cfg, self.ckpt = cfg, ckpt
        text = read_corpus(self.args.data)
        if ckpt:
            chars = json.loads(ckpt['meta']['vocab'])
        else:
            chars = sorted(set(text))
        index = {ch: i for i, ch in enumerate(chars)}
        unknown = sorted(set(text) - index.keys())
        if unknown:
            raise JobError(f'the text has {len(unknown)} character(s) the checkpoint\'s vocabulary lacks '
                           f'(e.g. {json.dumps(unknown[0])}); train on the text the run was trained on')
        ids = torch.tensor([index[ch] for ch in text], dtype=torch.long)
        n_val = math.floor(len(ids) * cfg['valFrac'])
        self.train_ids, self.val_ids = ids[:len(ids) - n_val], ids[len(ids) - n_val:]
        self.chars = chars
        model_cfg = {'cell': model_cfg['cell'], 'vocab': len(chars), 'embed': model_cfg['embed'],
                     'hidden': model_cfg['hidden'], 'layers': model_cfg['layers']}
        self.model_cfg = model_cfg
        B = cfg['batch']
        if B % self.world:
            raise JobError(f'batch {B} cannot be split evenly over {self.world} processes; use a number of processes that divides it')
        self.rows = list(range(self.rank * B // self.world, (self.rank + 1) * B // self.world))
        self.batcher = Batcher(self.train_ids, B, cfg['seq'])

        model = CharModel(model_cfg['cell'], len(chars), model_cfg['embed'], model_cfg['hidden'], model_cfg['layers'], cfg['dropout'])
        if ckpt:
            t = ckpt['tensors']
            missing = [n for n in param_names(model_cfg) if n not in t]
            if missing:
                raise JobError(f'{ckpt["file"]}: tensor {missing[0]} is missing')
            # a file whose model is rnn's average of the weights (--ema) holds the trained weights
            # as optim.trained.*: training goes on from those (this job keeps no average)
            prefix = 'optim.trained.' if ckpt['meta'].get('weights') == 'average' else ''
            missing = [n for n in param_names(model_cfg) if prefix + n not in t]
            if missing:
                raise JobError(f'{ckpt["file"]}: tensor {prefix}{missing[0]} is missing')
            model.load_state_dict({n: t[prefix + n] for n in param_names(model_cfg)}, strict=False)
        else:
            rnn_init(model, cfg['seed'])
        self.net = model.to(self.device)
        self.opt = make_optimizer(self.net.parameters(), cfg['optim'], cfg.get('weightDecay', 0))
        self.progress = {
            'step': 0, 'cursor': 0, 'rng': rnn_rng_state(cfg['seed']),
            'dropoutRng': rnn_rng_state((cfg['seed'] ^ 0x5bd1e995) & 0xffffffff), 'optimizerSteps': 0,
            'history': [], 'bestVal': None, 'bestStep': 0, 'evalsSinceBest': 0, 'elapsedMs': 0,
            'scheduleTotal': 0, 'lrScale': 1, 'rollbacks': 0, 'lossSum': 0, 'lossCount': 0,
        }
        self.state = model.zero_state(len(self.rows), self.device)
        self.run = None
        if ckpt and 'progress' in ckpt['meta']:
            self.restore(ckpt)
        torch.manual_seed(cfg['seed'] + 7919 * self.rank + self.progress['step'])
        self.ddp = self.net
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel
            self.ddp = DistributedDataParallel(self.net, device_ids=[self.device.index] if self.device.type == 'cuda' else None)
        self.forward = self.ddp
        if self.args.compile:
            try:
                self.forward = torch.compile(self.ddp)
            except Exception as e:  # noqa: BLE001 - torch.compile fails in many platform-specific ways
                self.say(f'note: torch.compile is not available here ({type(e).__name__}); running eagerly')

    def restore(self, ckpt):
        meta, t = ckpt['meta'], ckpt['tensors']
        saved = json.loads(meta['progress'])
        self.progress.update(saved)
        self.batcher.cursor = self.progress['cursor']
        opt_meta = json.loads(meta.get('optimizer', '{}'))
        if opt_meta.get('name') != self.cfg['optim']:
            raise JobError(f'{ckpt["file"]}: was trained with optimizer {opt_meta.get("name")}, the job says {self.cfg["optim"]}')
        steps = int(opt_meta.get('t', 0))
        names = param_names(self.model_cfg)
        params = dict(self.net.named_parameters())
        for kind, key in MOMENT_KEYS[self.cfg['optim']].items():
            for n in names:
                m = t.get(f'optim.{kind}.{n}')
                if m is None:
                    if steps > 0:
                        raise JobError(f'{ckpt["file"]}: has no optimizer moments {kind}; it cannot be continued exactly')
                    continue
                st = self.opt.state[params[n]]
                st[key] = m.to(self.device).clone()
                if self.cfg['optim'] != 'sgd':
                    st['step'] = torch.tensor(float(steps))
        if 'state.h_l0' in t:
            L = self.model_cfg['layers']
            rows = torch.tensor(self.rows)
            h = torch.stack([t[f'state.h_l{l}'] for l in range(L)])[:, rows].to(self.device)
            if self.model_cfg['cell'] == 'lstm':
                c = torch.stack([t[f'state.c_l{l}'] for l in range(L)])[:, rows].to(self.device)
                self.state = (h, c)
            else:
                self.state = h
        # a continued run keeps writing its own pair of files, as `rnn train --resume` does
        self.run = re.sub(r'-(best|last)$', '', re.sub(r'\.safetensors$', '', os.path.basename(ckpt['file'])))
        if self.args.resume is None:
            self.run = self.job_run() or self.run

    def job_run(self):
        with open(os.path.join(HERE, 'job.json'), encoding='utf-8') as f:
            return json.load(f).get('run')

    # -- saving

    def gather_state(self):
        """The carried state of all B rows, [L,B,H] (and c), on rank 0."""
        parts = self.state if isinstance(self.state, tuple) else (self.state,)
        out = []
        for s in parts:
            if self.world > 1:
                pieces = [torch.empty_like(s) for _ in range(self.world)]
                dist.all_gather(pieces, s.contiguous())
                s = torch.cat(pieces, dim=1)
            out.append(s.detach().float().cpu())
        return out

    def checkpoint_bytes(self):
        names = param_names(self.model_cfg)
        params = dict(self.net.named_parameters())
        tensors = [(n, params[n]) for n in names]
        for kind, key in MOMENT_KEYS[self.cfg['optim']].items():
            for n in names:
                st = self.opt.state.get(params[n], {})
                tensors.append((f'optim.{kind}.{n}', st[key] if key in st else torch.zeros_like(params[n])))
        states = self.gather_state()
        for l in range(self.model_cfg['layers']):
            tensors.append((f'state.h_l{l}', states[0][l]))
        if len(states) > 1:
            for l in range(self.model_cfg['layers']):
                tensors.append((f'state.c_l{l}', states[1][l]))
        p = self.progress
        last = p['history'][-1] if p['history'] else None
        val = last['val'] if last and last['step'] == p['step'] else None
        meta = {
            'format': FORMAT_NAME, 'format_version': str(FORMAT_VERSION), 'task': 'lm',
            'cell': self.model_cfg['cell'], 'model': json.dumps(self.model_cfg), 'vocab': json.dumps(self.chars),
            'train': json.dumps(clean(self.cfg)), 'progress': json.dumps(clean(p)),
            'optimizer': json.dumps({'name': self.cfg['optim'], 't': p['optimizerSteps']}),
            'step': str(p['step']), 'val_loss': '' if val is None else repr(val),
            'best_val_loss': '' if p['bestVal'] is None else repr(p['bestVal']),
            'best_step': '' if p['bestVal'] is None else str(p['bestStep']),
            'trained_with': f'PyTorch {torch.__version__}, {self.world} process(es), {self.device.type}',
        }
        return encode_safetensors(tensors, meta)

    def save(self, kind):
        data = self.checkpoint_bytes()  # every rank joins the state gather
        if not self.lead:
            return None
        path = self.paths[kind]
        write_atomic(path, data)
        p = self.progress
        last = p['history'][-1] if p['history'] else None
        self.event({'type': 'checkpoint', 'step': p['step'], 'kind': kind, 'path': path,
                    'val': last['val'] if last and last['step'] == p['step'] else None})
        return path

    # -- training

    def finite_params(self):
        return all(torch.isfinite(p).all() for p in self.net.parameters())

    def snapshot(self):
        self.snap = {
            'params': {n: p.detach().clone() for n, p in self.net.named_parameters()},
            'opt': {id(p): {k: (v.clone() if torch.is_tensor(v) else v) for k, v in st.items()} for p, st in self.opt.state.items()},
            'state': tuple(s.clone() for s in self.state) if isinstance(self.state, tuple) else self.state.clone(),
            'progress': json.loads(json.dumps(self.progress)),
        }

    def rollback(self):
        s = self.snap
        with torch.no_grad():
            for n, p in self.net.named_parameters():
                p.copy_(s['params'][n])
        for p in self.net.parameters():
            if id(p) in s['opt']:
                self.opt.state[p] = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in s['opt'][id(p)].items()}
        self.state = tuple(x.clone() for x in s['state']) if isinstance(s['state'], tuple) else s['state'].clone()
        self.progress = json.loads(json.dumps(s['progress']))
        self.batcher.cursor = self.progress['cursor']

    def total_steps(self):
        c = self.cfg
        by_epochs = math.ceil(c['epochs'] * self.batcher.windows_per_epoch) if c['epochs'] > 0 else 0
        if c['steps'] > 0 and by_epochs > 0:
            return min(c['steps'], by_epochs)
        return c['steps'] if c['steps'] > 0 else by_epochs

    def warmup_steps(self):
        planned = self.total_steps()
        return min(self.cfg['warmup'], math.ceil(planned / 10)) if planned > 0 else self.cfg['warmup']

    def lr(self):
        p = self.progress
        total = self.total_steps()
        time_fraction = p['elapsedMs'] / self.cfg['timeMs'] if self.cfg['timeMs'] > 0 else None
        return learning_rate(self.cfg, p['step'], total, self.warmup_steps(), time_fraction) * p['lrScale']

    def detach_state(self):
        self.state = tuple(s.detach() for s in self.state) if isinstance(self.state, tuple) else self.state.detach()

    def reset_state(self):
        self.state = self.net.zero_state(len(self.rows), self.device)

    def try_step(self):
        x, y, new_pass = self.batcher.next(self.rows)
        if new_pass:
            self.reset_state()
        x, y = x.to(self.device), y.to(self.device)
        self.net.train()
        self.opt.zero_grad(set_to_none=False)
        with torch.autocast('cuda', dtype=torch.bfloat16, enabled=self.device.type == 'cuda'):
            logits, state = self.forward(x, self.state)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()  # DDP averages the gradients over the ranks: the mean over all B·T characters
        grads = [p.grad for p in self.net.parameters()]
        norm = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads))
        mean_loss = loss.detach()
        if self.world > 1:
            dist.all_reduce(mean_loss)
            mean_loss /= self.world
        mean_loss = float(mean_loss)
        if not (math.isfinite(mean_loss) and math.isfinite(norm)):
            return False, mean_loss, norm, 0.0
        clip = self.cfg['clip']
        if clip > 0 and norm > clip:
            for g in grads:
                g.mul_(clip / norm)
        lr = self.lr()
        for group in self.opt.param_groups:
            group['lr'] = lr
        self.opt.step()
        self.state = state
        self.detach_state()
        p = self.progress
        p['step'] += 1
        p['lossSum'] += mean_loss
        p['lossCount'] += 1
        p['cursor'] = self.batcher.cursor
        p['optimizerSteps'] += 1
        return True, mean_loss, norm, lr

    @torch.no_grad()
    def evaluate(self):
        """Validation loss on rank 0 (None without validation text), broadcast to all ranks."""
        c = self.cfg
        result = torch.tensor([float('nan'), 0.0], dtype=torch.float64)
        if self.lead:
            plan = eval_plan(len(self.val_ids), c['batch'], c['seq'], c.get('evalWindows', 0))
            if plan:
                self.net.eval()
                batcher = Batcher(self.val_ids, plan['B'], plan['T'], 'the validation text')
                state = self.net.zero_state(plan['B'], self.device)
                total = 0.0
                for _ in range(plan['windows']):
                    x, y, _ = batcher.next(range(plan['B']))
                    with torch.autocast('cuda', dtype=torch.bfloat16, enabled=self.device.type == 'cuda'):
                        logits, state = self.net(x.to(self.device), state)
                    total += float(F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.to(self.device).reshape(-1), reduction='sum'))
                result = torch.tensor([total / plan['chars'], 1.0], dtype=torch.float64)
        if self.world > 1:
            dist.broadcast(result, 0)
        return float(result[0]) if result[1] > 0 else None

    def agree(self, values):
        """The largest of every rank's values: rank 0 alone sends the stop reason and its
        clock (the others send 0), any rank an interrupt."""
        t = torch.tensor(values, dtype=torch.float64)
        if self.world > 1:
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return [float(v) for v in t]

    def main(self):
        self.setup()
        c, p = self.cfg, self.progress
        total = self.total_steps()
        if total > 0 and p['step'] >= total:
            raise JobError(f'the run has already done {p["step"]} of its {total} steps; ask for more in total with --steps N', 2)
        if not total and not c['timeMs']:
            c['epochs'] = 10  # rnn's default limit
            total = self.total_steps()
        run = self.run or run_name(self.args.data)
        os.makedirs(self.args.out, exist_ok=True)
        self.paths = {k: os.path.join(self.args.out, f'{run}-{k}.safetensors') for k in ('best', 'last')}
        n_params = sum(p_.numel() for p_ in self.net.parameters())
        m = self.model_cfg
        self.say(f'train.py: {self.args.data} · {len(self.train_ids):,} train + {len(self.val_ids):,} val chars · vocab {m["vocab"]}')
        self.say(f'model: {m["layers"]}×{m["hidden"]} {m["cell"]}, embed {m["embed"]}, {n_params:,} parameters · batch {c["batch"]} × seq {c["seq"]}'
                 f' · {c["optim"]} lr {c["lr"]} {c["schedule"]} · clip {c["clip"]} · PyTorch {torch.__version__} on {self.world} × {self.device.type}')
        self.say(f'checkpoints: {os.path.join(self.args.out, run)}-{{best,last}}.safetensors' + (f' · resuming at step {p["step"]}' if p['step'] else ''))
        plan = eval_plan(len(self.val_ids), c['batch'], c['seq'], c.get('evalWindows', 0))
        self.event({'type': 'start', 'step': p['step'], 'totalSteps': total, 'timeMs': c['timeMs'], 'parameters': n_params,
                    'vocab': m['vocab'], 'trainChars': len(self.train_ids), 'valChars': len(self.val_ids),
                    'valCharsScored': plan['chars'] if plan else 0, 'windowsPerEpoch': self.batcher.windows_per_epoch,
                    'run': run, 'config': c, 'checkpoints': self.paths, 'resumed': p['step'] > 0, 'world': self.world})
        if not self.finite_params():
            raise JobError('the starting weights are not finite; start from an earlier checkpoint')
        self.snapshot()
        chars_per_step = c['batch'] * c['seq']
        t0 = time.monotonic() * 1000 - p['elapsedMs']
        session_t0 = time.monotonic() * 1000
        saved_at, reason = -1, None

        def elapsed():
            return time.monotonic() * 1000 - t0

        def diverged(at, loss, norm):
            rollbacks = self.progress['rollbacks'] + 1
            if rollbacks > MAX_ROLLBACKS:
                raise JobError(f'training diverged at step {at} (loss {loss}, gradient norm {norm}) again after {MAX_ROLLBACKS} rollbacks; '
                               f'the last checkpoint (step {self.snap["progress"]["step"]}) is intact: resume it with a lower lr')
            scale = self.progress['lrScale'] / 2
            self.rollback()
            self.progress['rollbacks'], self.progress['lrScale'] = rollbacks, scale
            self.snap['progress']['rollbacks'], self.snap['progress']['lrScale'] = rollbacks, scale
            self.event({'type': 'rollback', 'step': at, 'to': self.progress['step'], 'loss': loss, 'gradNorm': norm, 'lrScale': scale, 'rollbacks': rollbacks})
            self.say(f'step {at}: loss {loss}, gradient norm {norm}: rolled back to step {self.progress["step"]} with the learning rate ×{scale}')

        def do_eval():
            p = self.progress
            val = self.evaluate()
            if not self.finite_params() or (val is not None and not math.isfinite(val)):
                diverged(p['step'], val, float('nan'))
                return False
            train_loss = p['lossSum'] / p['lossCount'] if p['lossCount'] else float('nan')
            p['lossSum'], p['lossCount'] = 0, 0
            p['history'].append({'step': p['step'], 'train': train_loss, 'val': val})
            score = val if val is not None else train_loss
            best = p['bestVal'] is None or score < p['bestVal']
            if best:
                p['bestVal'], p['bestStep'], p['evalsSinceBest'] = score, p['step'], 0
            else:
                p['evalsSinceBest'] += 1
            p['elapsedMs'] = elapsed()
            bits = (lambda x: None if x is None else x / math.log(2))
            self.event({'type': 'eval', 'step': p['step'], 'train': train_loss, 'trainBpc': bits(train_loss), 'val': val,
                        'valBpc': bits(val), 'best': best, 'bestVal': p['bestVal'], 'elapsedMs': p['elapsedMs']})
            shown = 'n/a' if val is None else f'{val:.3f} ({val / math.log(2):.2f} bpc)'
            self.say(f'step {p["step"]:,}{f"/{total:,}" if total else ""}: train {train_loss:.3f} · val {shown} nats/char{" best" if best else ""}')
            if best:
                self.save('best')
            self.save('last')
            self.snapshot()
            return True

        rate_t, rate_steps = session_t0, 0
        while reason is None:
            ok, loss, norm, lr = self.try_step()
            if not ok:
                diverged(self.progress['step'] + 1, loss, norm)
                continue
            rate_steps += 1
            p = self.progress
            now = time.monotonic() * 1000
            p['elapsedMs'] = elapsed()
            cps = rate_steps * chars_per_step * 1000 / max(1e-3, now - rate_t)
            if now - rate_t > 5000:
                rate_t, rate_steps = now, 0
            if p['step'] % self.args.json_every == 0 or p['step'] == total:
                self.event({'type': 'step', 'step': p['step'], 'loss': loss, 'bpc': loss / math.log(2), 'gradNorm': norm, 'lr': lr,
                            'epoch': self.batcher.cursor / self.batcher.windows_per_epoch, 'charsPerSec': cps, 'elapsedMs': p['elapsedMs']})
            why = 0
            if total > 0 and p['step'] >= total:
                why = 2 if c['epochs'] > 0 and self.batcher.cursor / self.batcher.windows_per_epoch >= c['epochs'] else 1
            elif c['timeMs'] > 0 and p['elapsedMs'] >= c['timeMs']:
                why = 3
            # every rank stops at the same step, and follows the lead's clock (the schedule of a
            # time-bounded run is a function of it)
            why, lead_elapsed, stop = self.agree([why, p['elapsedMs'], 1 if self.interrupted else 0] if self.lead
                                                 else [0, 0, 1 if self.interrupted else 0])
            p['elapsedMs'] = float(lead_elapsed)
            reason = {0: None, 1: 'steps', 2: 'epochs', 3: 'time'}[int(why)]
            if reason is None and stop:
                reason = 'interrupted'
                break
            if reason is None and c['evalEvery'] > 0 and p['step'] % c['evalEvery'] == 0:
                if do_eval():
                    saved_at = p['step']
                    if c['patience'] > 0 and self.progress['evalsSinceBest'] >= c['patience']:
                        reason = 'patience'
            if reason is not None and reason != 'patience' and self.progress['lossCount'] > 0:
                if do_eval():
                    saved_at = self.progress['step']
                else:
                    reason = None
        p = self.progress
        if saved_at != p['step']:
            if not self.finite_params():
                raise JobError(f'the weights are not finite at step {p["step"]}; not saving them. The last checkpoint is intact')
            self.save('last')
        bpc = None if p['bestVal'] is None else p['bestVal'] / math.log(2)
        self.event({'type': 'end', 'step': p['step'], 'reason': reason, 'bestVal': p['bestVal'], 'bestBpc': bpc,
                    'bestStep': p['bestStep'], 'elapsedMs': elapsed()})
        best = 'n/a' if p['bestVal'] is None else f'{p["bestVal"]:.3f} nats/char at step {p["bestStep"]:,}'
        self.say(f'done ({reason}) at step {p["step"]:,} · best val {best}')
        self.say(f'last: {self.paths["last"]}')
        if os.path.exists(self.paths['best']):
            self.say(f'best: {self.paths["best"]}')
            self.say(f'back home: rnn sample --checkpoint {self.paths["best"]}')
        if reason == 'interrupted':
            self.say(f'resume with: python3 {os.path.relpath(__file__)} --data {self.args.data} --resume {self.paths["last"]}')
        if self.world > 1:
            dist.barrier()  # rank 0 may still be writing; gloo aborts a group torn down under it
            dist.destroy_process_group()
        return reason


def clean(obj):
    """JSON as JavaScript writes it: NaN and ±∞ become null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    return obj


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    run = Run(args)
    import signal
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, run.on_signal)
    try:
        if run.main() == 'interrupted':
            sys.exit(130)
    except JobError as e:
        if run.lead:
            print(f'train.py: {e}', file=sys.stderr)
        sys.exit(e.status)
    except KeyboardInterrupt:
        if run.lead:
            print('train.py: interrupted; the last checkpoint is intact', file=sys.stderr)
        sys.exit(130)


if __name__ == '__main__':
    main()
