"""Margin bounds of the bundled MNIST models by auto_LiRPA, for bench/certify.ts.

Reads a JSON spec (layers exported from the TF.js model, digits, labels, epsilons per norm
('linf', 'l2'), methods),
builds the matching torch module (NCHW convolutions; the input is permuted back to NHWC before
Flatten so that Dense weights keep their order) and prints, per method and epsilon, the lower
bound of every margin row logit_label - logit_j (j != label, in class order) and the fewest
seconds compute_bounds took over up to 30 runs (fewer once two seconds are spent). auto_LiRPA must be importable (PYTHONPATH); torch runs on one thread.
"""
import json
import sys
import time

import torch
import torch.nn as nn
from auto_LiRPA import BoundedModule, BoundedTensor, PerturbationLpNorm

# As bench/certify.ts times robustest: the fastest of up to REPEATS runs, fewer past TIME_BUDGET seconds.
REPEATS = 30
TIME_BUDGET = 2.0
# Seconds of untimed runs before the timed ones (at least one run).
WARM_UP = 1.0


class ToChannelsLast(nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 3, 1)


def build(layers):
    modules = []
    channels_first = True
    for layer in layers:
        kind = layer['kind']
        if kind == 'conv2d':
            kh, kw, cin, cout = layer['kernelShape']
            conv = nn.Conv2d(cin, cout, (kh, kw), stride=tuple(layer['strides']), padding=0, dilation=tuple(layer['dilations']))
            kernel = torch.tensor(layer['kernel'], dtype=torch.float32).reshape(kh, kw, cin, cout)
            conv.weight.data = kernel.permute(3, 2, 0, 1).contiguous()
            conv.bias.data = torch.tensor(layer['bias'], dtype=torch.float32)
            modules.append(conv)
        elif kind == 'maxpool':
            modules.append(nn.MaxPool2d(tuple(layer['poolSize']), stride=tuple(layer['strides'])))
        elif kind == 'flatten':
            if channels_first:
                modules.append(ToChannelsLast())
            modules.append(nn.Flatten())
        elif kind == 'dense':
            n_in, n_out = layer['kernelShape']
            linear = nn.Linear(n_in, n_out)
            linear.weight.data = torch.tensor(layer['kernel'], dtype=torch.float32).reshape(n_in, n_out).t().contiguous()
            linear.bias.data = torch.tensor(layer['bias'], dtype=torch.float32)
            modules.append(linear)
        elif kind == 'relu':
            modules.append(nn.ReLU())
        else:
            raise ValueError(f'unsupported layer {kind}')
    return nn.Sequential(*modules)


def pool_choices(bounded):
    """Per max pool, the input CROWN's lower relaxation took in each window (the one with the
    largest lower bound), as flat indices into the channels-last layout robustest uses."""
    found = []
    for node in bounded.nodes():
        if type(node).__name__ != 'BoundMaxPool':
            continue
        lower = node.inputs[0].lower.detach()
        channels = lower.shape[1]
        _, index = torch.nn.functional.max_pool2d(lower, node.kernel_size, node.stride, node.padding, return_indices=True)
        channel = torch.arange(channels).view(1, channels, 1, 1)
        found.append((index * channels + channel).permute(0, 2, 3, 1).reshape(-1).tolist())
    return found


def alone(ptb, i):
    """The perturbation of digit i alone."""
    pick = lambda t: None if t is None else t[i:i + 1]
    return PerturbationLpNorm(norm=ptb.norm, eps=ptb.eps, x_L=pick(ptb.x_L), x_U=pick(ptb.x_U))


def main():
    # auto_LiRPA prints progress (early stops) on stdout, which carries the JSON result here.
    result_stream = sys.stdout
    sys.stdout = sys.stderr
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(1)
    model = build(spec['layers']).eval()
    h, w, c = spec['shape']
    x = torch.tensor(spec['inputs'], dtype=torch.float32).reshape(-1, h, w, c).permute(0, 3, 1, 2).contiguous()
    labels = spec['labels']
    classes = spec['classes']
    n = x.shape[0]
    spec_matrix = torch.zeros(n, classes - 1, classes)
    for i, y in enumerate(labels):
        rows = [j for j in range(classes) if j != y]
        for k, j in enumerate(rows):
            spec_matrix[i, k, y] = 1.0
            spec_matrix[i, k, j] = -1.0
    # Tracing wants a plain tensor on torch 1.13, not a BoundedTensor.
    bounded = BoundedModule(model, torch.zeros_like(x[:1]), device='cpu', verbose=0)
    out = {'results': []}
    for norm, epsilons in spec['epsilons'].items():
        for method in spec['methods']:
            for eps in epsilons:
                if norm == 'linf':
                    # x_L / x_U override eps: they are the ball intersected with [0, 1].
                    ptb = PerturbationLpNorm(norm=float('inf'), eps=eps, x_L=(x - eps).clamp(0, 1), x_U=(x + eps).clamp(0, 1))
                else:
                    # auto_LiRPA bounds the L2 ball alone (it does not intersect it with [0, 1]).
                    ptb = PerturbationLpNorm(norm=2, eps=eps)
                bx = BoundedTensor(x, ptb)
                # Untimed runs first, as robustest warms up its own code: on every digit until
                # WARM_UP seconds are spent, or once on two digits before CROWN-Optimized, whose
                # seconds a warm-up would not change.
                if method == 'CROWN-Optimized':
                    warm = PerturbationLpNorm(norm=ptb.norm, eps=eps, x_L=None if ptb.x_L is None else ptb.x_L[:2], x_U=None if ptb.x_U is None else ptb.x_U[:2])
                    bounded.compute_bounds(x=(BoundedTensor(x[:2], warm),), C=spec_matrix[:2], method=method, bound_upper=False)
                else:
                    warm_start = time.perf_counter()
                    while True:
                        bounded.compute_bounds(x=(bx,), C=spec_matrix, method=method, bound_upper=False)
                        if time.perf_counter() - warm_start >= WARM_UP:
                            break
                # The fastest of up to REPEATS timed runs, fewer once TIME_BUDGET seconds are spent.
                times = []
                while len(times) < REPEATS and sum(times) < TIME_BUDGET:
                    start = time.perf_counter()
                    lower, _ = bounded.compute_bounds(x=(bx,), C=spec_matrix, method=method, bound_upper=False)
                    times.append(time.perf_counter() - start)
                seconds = min(times)
                result = {'method': method, 'norm': norm, 'epsilon': eps, 'seconds': seconds}
                if method != 'CROWN-Optimized':
                    # Margins one digit at a time, as robustest bounds them: batched, auto_LiRPA
                    # decides which relu inputs get linear bounds over the whole batch (a neuron
                    # unstable in any digit is bounded in all), so a digit's margins would depend
                    # on the digits beside it. The time stays the batched run's.
                    rows, choices = [], []
                    for i in range(n):
                        rows.append(bounded.compute_bounds(x=(BoundedTensor(x[i:i + 1], alone(ptb, i)),), C=spec_matrix[i:i + 1], method=method, bound_upper=False)[0])
                        if method == 'CROWN':
                            choices.append(pool_choices(bounded))
                    lower = torch.cat(rows)
                    if method == 'CROWN':
                        result['choices'] = choices
                result['rows'] = lower.detach().double().tolist()
                out['results'].append(result)
    json.dump(out, result_stream)


if __name__ == '__main__':
    main()
