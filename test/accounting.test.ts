import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  gaussianDelta, gaussianEpsilon, gaussianEpsilonComposed, privacyOf, rdpEpsilon, rdpEpsilonAt,
} from '../src/defences/accounting.js';
import { erfc, logNormalCdf, normalCdf } from '../src/defences/normal.js';
import { parseDefence } from '../src/defences/spec.js';
import { ROOT } from './helpers.js';

/** 50-digit references from mpmath (scripts/make-defence-fixtures.py). */
const REF = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/defences/reference.json'), 'utf8')) as {
  erfc: [number, string, string][];
  logPhi: [number, string][];
  delta: [number, number, string][];
  epsilon: [number, number, number, string][];
  rdp: [number, number, number, string][];
};
const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

describe('accounting: the normal tails', () => {
  it('erfc to 4e-15 relative against mpmath, from −6 to 26.5 (erfc ≈ 1e-307)', () => {
    for (const [x, want] of REF.erfc) {
      assert.ok(rel(erfc(x), Number(want)) <= 4e-15, `erfc(${x}) = ${erfc(x)}, mpmath ${want}`);
    }
  });
  it('a 1e-7 approximation would fail this: the fixture separates them', () => {
    // Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7 absolute) at x = 5, where erfc = 1.5e-12
    const as = (x: number) => {
      const t = 1 / (1 + 0.3275911 * x);
      return t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
        * Math.exp(-x * x);
    };
    const want = Number(REF.erfc.find(([x]) => x === 5)![1]);
    assert.ok(rel(as(5), want) > 1e-3 && rel(erfc(5), want) < 1e-15);
  });
  it('log Φ into the far tail, where Φ underflows', () => {
    for (const [x, want] of REF.logPhi) {
      assert.ok(rel(logNormalCdf(x), Number(want)) <= 1e-14, `log Φ(${x}) = ${logNormalCdf(x)}, mpmath ${want}`);
    }
    assert.equal(normalCdf(-40), 0);
    assert.ok(Math.abs(normalCdf(0) - 0.5) === 0 && Math.abs(normalCdf(1) + normalCdf(-1) - 1) < 1e-16);
  });
});

describe('accounting: the analytic Gaussian mechanism', () => {
  it('δ(ε) against mpmath', () => {
    for (const [eps, mu, want] of REF.delta) {
      const w = Number(want);
      // the difference of two tails loses what their ratio to δ is: allow 1e-12 relative or 1e-300
      assert.ok(Math.abs(gaussianDelta(eps, mu) - w) <= 1e-12 * w + 1e-300, `δ(${eps}; μ=${mu})`);
    }
  });
  it('ε(δ) against mpmath for z ∈ {0.5, 1, 2, 4}, T ∈ {1, 100}, δ ∈ {1e-3, 1e-5, 1e-6}, and δ(ε(δ)) = δ', () => {
    for (const [z, T, delta, want] of REF.epsilon) {
      const eps = gaussianEpsilonComposed(z, T, delta);
      assert.ok(rel(eps, Number(want)) <= 1e-12, `z=${z} T=${T} δ=${delta}: ${eps} vs ${want}`);
      assert.ok(rel(gaussianDelta(eps, Math.sqrt(T) / z), delta) <= 1e-12, `δ(ε(δ)) at z=${z} T=${T}`);
    }
  });
  it('T rounds compose as one release with z/√T; ε never exceeds the classical bound', () => {
    assert.equal(gaussianEpsilonComposed(2, 4, 1e-5), gaussianEpsilonComposed(1, 1, 1e-5));
    // classical Gaussian mechanism (ε < 1): σ = √(2 ln(1.25/δ))·Δ/ε suffices, so analytic ε ≤ that ε
    for (const target of [0.1, 0.5, 0.9]) {
      const z = Math.sqrt(2 * Math.log(1.25 / 1e-5)) / target;
      const eps = gaussianEpsilon(1e-5, 1 / z);
      assert.ok(eps < target && eps > target / 2, `classical ε ${target}, analytic ${eps}`);
    }
    assert.equal(gaussianEpsilon(0.5, 1e-3), 0); // δ(0) = 2Φ(μ/2) − 1 is already below δ
    assert.throws(() => gaussianEpsilon(0, 1), /δ must be in \(0, 1\)/);
  });
});

describe('accounting: RDP', () => {
  it('the closed-form optimum over α equals a numerical minimisation (mpmath), and every α bounds it', () => {
    for (const [z, T, delta, want] of REF.rdp) {
      const eps = rdpEpsilon(z, T, delta);
      assert.ok(rel(eps, Number(want)) <= 1e-13, `z=${z} T=${T} δ=${delta}: ${eps} vs ${want}`);
      for (const alpha of [1.01, 1.5, 2, 4, 8, 16, 32, 64, 256]) {
        assert.ok(rdpEpsilonAt(z, T, delta, alpha) >= eps * (1 - 1e-15));
      }
    }
  });
  it('is an upper bound on the exact ε, over a grid of z, T and δ', () => {
    for (const z of [0.3, 0.5, 0.8, 1, 1.5, 2, 4, 8, 20]) for (const T of [1, 3, 10, 100, 1000]) {
      for (const delta of [1e-3, 1e-5, 1e-8]) {
        const exact = gaussianEpsilonComposed(z, T, delta), rdp = rdpEpsilon(z, T, delta);
        assert.ok(rdp >= exact, `z=${z} T=${T} δ=${delta}: RDP ${rdp} < exact ${exact}`);
      }
    }
  });
});

describe('accounting: a declared chain', () => {
  it('noise under FedAvg counts one release per local step; rounds compose', () => {
    const p = privacyOf([parseDefence('noise:z=2,rounds=10'), parseDefence('fedavg:steps=5,lr=0.1')])!;
    assert.equal(p.releasesPerRound, 5);
    assert.equal(p.epsilon, gaussianEpsilonComposed(2, 5, 1e-5));
    assert.equal(p.epsilonRounds, gaussianEpsilonComposed(2, 50, 1e-5));
    assert.equal(p.epsilonRoundsRdp, rdpEpsilon(2, 50, 1e-5));
    const q = privacyOf([parseDefence('fedavg:steps=5,lr=0.1'), parseDefence('noise:z=2')])!;
    assert.equal(q.releasesPerRound, 1);
    assert.equal(privacyOf([parseDefence('prune:0.5')]), undefined);
  });
});
