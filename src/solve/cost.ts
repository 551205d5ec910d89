import { systemSize } from '../core/memory.js';
import type { SystemGeometry } from '../model/chain-spec.js';

/**
 * A rough operation count of one layer's rank solve, by the path its geometry predicts (core/memory.ts
 * `systemSize`): only its order matters, to start the longest solves first when layers run side by
 * side. Fitted on LeNet, LeNet2 and cnn6d (docs/DESIGN.md): the dense and Schur products run about
 * four times as fast per operation as the envelope factor and its conjugate-gradient iterations.
 */
export function solveCost(g: SystemGeometry): number {
  const s = systemSize(g);
  if (s.path === 'column') {
    const band = Math.min(s.n, ((g.kh - 1) * (g.inW + 2 * g.pad) + g.kw) * g.inC);
    return 4 * band * band * s.n;
  }
  // the gradient rows' Schur complement (mg² · ms) and its pivoted factor (mg³ / 3)
  if (s.path === 'row') return s.mg * s.mg * s.ms + (s.mg * s.mg * s.mg) / 3;
  // the Gram matrix of all rows (n · nonzeros) and its pivoted factor (n³ / 3)
  return s.n * (s.nnzS + s.nnzG) + (s.n * s.n * s.n) / 3;
}
