import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeImagePng } from '../src/formats/image.js';
import { base64 } from '../src/formats/base64.js';
import { scatterPlot, stackedBars } from '../src/plot/charts.js';
import { sceneToBitmap } from '../src/plot/raster.js';
import type { Scene } from '../src/plot/scene.js';
import { sceneToSvg } from '../src/plot/svg.js';
import { Rng } from '../src/core/rng.js';

const pixel = (s: Scene, x: number, y: number) => {
  const img = sceneToBitmap(s);
  const k = (y * img.width + x) * 3;
  return [img.data[k], img.data[k + 1], img.data[k + 2]];
};

describe('plots', () => {
  it('base64 matches Node\'s encoder for every length modulo 3', () => {
    const rng = new Rng(5);
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(rng.uniform() * 256));
      assert.equal(base64(bytes), Buffer.from(bytes).toString('base64'));
    }
  });
  it('rasterises marks where the SVG puts them', () => {
    const s: Scene = {
      width: 40, height: 30, background: [255, 255, 255], marks: [
        { kind: 'rect', x: 2, y: 3, w: 5, h: 4, fill: [10, 20, 30] },
        { kind: 'circle', cx: 20, cy: 15, r: 3, fill: [200, 0, 0] },
        { kind: 'line', x1: 30, y1: 0, x2: 30, y2: 29, colour: [0, 0, 200], width: 1 },
      ],
    };
    const img = sceneToBitmap(s);
    const count = (c: number[]) => { let n = 0; for (let k = 0; k < img.data.length; k += 3) if (img.data[k] === c[0] && img.data[k + 1] === c[1] && img.data[k + 2] === c[2]) n++; return n; };
    assert.equal(count([10, 20, 30]), 20, 'a 5×4 rectangle');
    assert.equal(count([200, 0, 0]), 32, 'a disc of radius 3 covers 32 pixel centres');
    assert.deepEqual(pixel(s, 30, 12), [0, 0, 200]);
    assert.deepEqual(pixel(s, 0, 0), [255, 255, 255]);
    const svg = sceneToSvg(s);
    assert.match(svg, /<rect x="2" y="3" width="5" height="4" fill="rgb\(10,20,30\)"\/>/);
    assert.match(svg, /<circle cx="20" cy="15" r="3" fill="rgb\(200,0,0\)"\/>/);
  });
  it('scatter: a point lands at its axis position, one colour per group, same bytes each time', () => {
    const opts = {
      title: 't', subtitle: 's', xLabel: 'x', yLabel: 'y', groups: ['a', 'b'], yCap: 100,
      points: [{ x: 0, y: 100, group: 'a' }, { x: -1000, y: 0, group: 'b' }, { x: -10, y: 250, group: 'a' }],
    };
    const s = scatterPlot(opts);
    const dots = s.marks.filter((m) => m.kind === 'circle' && m.r === 4) as { cx: number; cy: number; fill: readonly number[] }[];
    assert.equal(dots.length, 3);
    assert.equal(dots[0].cy, dots[2].cy, 'PSNR above the cap is drawn at the cap');
    assert.ok(dots[1].cx < dots[2].cx && dots[2].cx < dots[0].cx, 'more negative index further left');
    assert.ok(dots[1].cy > dots[0].cy, 'lower PSNR lower down');
    assert.notDeepEqual(dots[0].fill, dots[1].fill);
    assert.deepEqual(pixel(s, Math.round(dots[1].cx), Math.round(dots[1].cy)), [...dots[1].fill]);
    assert.deepEqual(encodeImagePng(sceneToBitmap(scatterPlot(opts))), encodeImagePng(sceneToBitmap(s)));
  });
  it('stacked bars: segment lengths are proportional to their values', () => {
    const s = stackedBars({ title: 't', subtitle: 's', xLabel: 'x', segmentNames: ['l0', 'l1'], rows: [{ label: 'a', segments: [100, 300], note: '' }, { label: 'b', segments: [0, 200], note: '' }] });
    const bars = s.marks.filter((m) => m.kind === 'rect' && m.h === 14) as { x: number; w: number }[];
    assert.equal(bars.length, 3, 'zero-length segments are not drawn');
    assert.ok(Math.abs(bars[1].w / bars[0].w - 3) < 1e-9);
    assert.ok(Math.abs(bars[2].w / bars[0].w - 2) < 1e-9);
    assert.ok(Math.abs(bars[1].x - (bars[0].x + bars[0].w)) < 1e-9, 'segments are stacked');
  });
});
