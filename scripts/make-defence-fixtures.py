#!/usr/bin/python3
"""Reference values for gradleak's defences: float16 rounding (Python's struct) and the privacy
accounting with its normal tails at 50 digits (mpmath).

Usage (from the repository root):

    /usr/bin/python3 scripts/make-defence-fixtures.py [--out FILE]

Writes test/fixtures/defences/reference.json (or FILE):

  float16   [x, h]: x rounded to IEEE binary16 by struct.pack('<e', x), which rounds the double
            directly, to nearest with ties to even (h = null where it overflows); 400 values of
            every magnitude from subnormal to beyond 65504, with exact ties mixed in

  erfc      [x, erfc(x)] on both tails and around the switch at x = 1
  logPhi    [x, log Phi(x)] into the far left tail (Phi itself underflows past x = -38)
  delta     [eps, mu, delta(eps)] of the Gaussian mechanism (Balle & Wang 2018, Theorem 8):
            delta = Phi(mu/2 - eps/mu) - e^eps Phi(-mu/2 - eps/mu), mu = sensitivity / sigma
  epsilon   [z, T, delta, eps]: the eps with delta(eps) = delta for mu = sqrt(T)/z (T rounds
            compose exactly as one Gaussian release, Gaussian DP), solved by bisection at
            50 digits to 1e-30; also math.erfc (CPython's own, independent) as a cross-check
  rdp       [z, T, delta, eps]: min over alpha > 1 of T alpha/(2 z^2) + log(1/delta)/(alpha - 1),
            minimised numerically (bisection on the derivative), not from the closed form

Values are written as decimal strings with 17 significant digits (a double read from them is the
nearest double). Deterministic: no randomness, no timestamps.
"""

import argparse
import json
import math
import random
import struct

import mpmath

mpmath.mp.dps = 50


def phi(x):
    return mpmath.ncdf(x)


def delta_of(eps, mu):
    eps, mu = mpmath.mpf(eps), mpmath.mpf(mu)
    return phi(mu / 2 - eps / mu) - mpmath.exp(eps) * phi(-mu / 2 - eps / mu)


def eps_of(delta, mu):
    delta, mu = mpmath.mpf(delta), mpmath.mpf(mu)
    if delta_of(0, mu) <= delta:
        return mpmath.mpf(0)
    lo, hi = mpmath.mpf(0), mpmath.mpf(1)
    while delta_of(hi, mu) > delta:
        lo, hi = hi, hi * 2
    while hi - lo > mpmath.mpf('1e-30') * hi:
        mid = (lo + hi) / 2
        if delta_of(mid, mu) > delta:
            lo = mid
        else:
            hi = mid
    return hi


def rdp_eps(z, T, delta):
    z, T, L = mpmath.mpf(z), mpmath.mpf(T), -mpmath.log(mpmath.mpf(delta))
    f = lambda a: T * a / (2 * z * z) + L / (a - 1)
    df = lambda a: T / (2 * z * z) - L / (a - 1) ** 2
    lo, hi = mpmath.mpf(1) + mpmath.mpf('1e-40'), mpmath.mpf(2)
    while df(hi) < 0:
        hi *= 2
    for _ in range(400):  # df rises on (1, inf): bisect its root
        mid = (lo + hi) / 2
        if df(mid) < 0:
            lo = mid
        else:
            hi = mid
    return f((lo + hi) / 2)


def float16_cases():
    rng = random.Random(20261205)
    xs = []
    for _ in range(300):
        x = rng.uniform(1, 2) * 2.0 ** rng.randint(-27, 16)
        xs.append(-x if rng.random() < 0.5 else x)
    for _ in range(100):  # exact ties: halfway between two float16 neighbours
        e = rng.randint(-24, 15)
        q = 2.0 ** (max(e, -14) - 10)
        m = rng.randint(0, 2047)
        xs.append((m + 0.5) * q)
    out = []
    for x in xs:
        try:
            h = struct.unpack('<e', struct.pack('<e', x))[0]
        except OverflowError:
            h = None
        out.append([x, h])
    return out


def s(v):
    return mpmath.nstr(mpmath.mpf(v), 17, min_fixed=-1, max_fixed=-1) if v != 0 else '0'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='test/fixtures/defences/reference.json')
    out = ap.parse_args().out
    xs = [-6, -3, -1.5, -1.0000001, -1, -0.5, -1e-3, 0, 1e-8, 0.3, 0.7, 0.99, 1, 1.0001, 1.01, 1.2,
          1.5, 2, 2.5, 3, 4, 5, 6.5, 8, 10, 12.5, 15, 20, 25, 26.5]
    erfc = [[x, s(mpmath.erfc(mpmath.mpf(x))), repr(math.erfc(x))] for x in xs]
    log_phi = [[x, s(mpmath.log(phi(mpmath.mpf(x))))] for x in
               [-60, -40, -38, -20, -10, -5, -2, -1.5, -1, -0.5, 0, 1, 3]]
    deltas = [[e, m, s(delta_of(e, m))] for m in [0.25, 0.5, 1, 2, 4, 10] for e in [0, 0.1, 1, 3, 8]]
    epsilon = [[z, T, d, s(eps_of(d, mpmath.sqrt(T) / mpmath.mpf(z)))]
               for z in [0.5, 1, 2, 4] for T in [1, 100] for d in [1e-5, 1e-6, 1e-3]]
    rdp = [[z, T, d, s(rdp_eps(z, T, d))] for z in [0.5, 1, 2, 4] for T in [1, 100] for d in [1e-5, 1e-3]]
    data = {
        'generator': 'scripts/make-defence-fixtures.py',
        'float16': float16_cases(),
        'mpmath': mpmath.__version__, 'digits': mpmath.mp.dps,
        'erfc': erfc, 'logPhi': log_phi, 'delta': deltas, 'epsilon': epsilon, 'rdp': rdp,
    }
    with open(out, 'w') as f:
        json.dump(data, f, indent=1)
        f.write('\n')
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
