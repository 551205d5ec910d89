// Draws the bundled sample images (procedural scenes, so their licence is ours: CC0). Run once;
// the PNGs are committed. Usage: node scripts/make-samples.mjs
import fs from 'node:fs';
import { encode } from 'fast-png';

function scene(size, seed, draw) {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const [r, g, b] = draw(x / (size - 1), y / (size - 1), seed);
    const p = (y * size + x) * 3;
    data[p] = Math.round(Math.max(0, Math.min(1, r)) * 255);
    data[p + 1] = Math.round(Math.max(0, Math.min(1, g)) * 255);
    data[p + 2] = Math.round(Math.max(0, Math.min(1, b)) * 255);
  }
  return encode({ width: size, height: size, data, channels: 3, depth: 8 });
}

const hills = (u, v) => {
  const sun = Math.hypot(u - 0.72, v - 0.25) < 0.13;
  const ridge = 0.62 + 0.08 * Math.sin(u * 9) + 0.04 * Math.sin(u * 23 + 1);
  const house = u > 0.18 && u < 0.38 && v > ridge - 0.16 && v < ridge + 0.05;
  const roof = u > 0.14 && u < 0.42 && v > ridge - 0.28 + Math.abs(u - 0.28) && v <= ridge - 0.16;
  if (house) return [0.75, 0.2, 0.15];
  if (roof) return [0.35, 0.2, 0.15];
  if (v > ridge) return [0.15 + 0.2 * v, 0.45 + 0.15 * Math.sin(u * 30) * 0.3, 0.12];
  if (sun) return [1, 0.85, 0.3];
  return [0.35 + 0.4 * v, 0.55 + 0.3 * v, 0.95];
};
const checks = (u, v) => {
  const c = (Math.floor(u * 6) + Math.floor(v * 6)) % 2;
  const ring = Math.abs(Math.hypot(u - 0.5, v - 0.5) - 0.3) < 0.06;
  return ring ? [0.9, 0.3, 0.6] : c ? [0.2, 0.3 + 0.5 * u, 0.8 - 0.5 * v] : [0.9 - 0.4 * v, 0.85, 0.3 + 0.4 * u];
};
const stripes = (u, v) => {
  const band = Math.floor((u + 0.6 * v) * 7) % 3;
  const shade = 0.5 + 0.4 * Math.sin(6 * v);
  return band === 0 ? [0.9 * shade, 0.2, 0.2] : band === 1 ? [0.2, 0.7 * shade, 0.3] : [0.2, 0.3, 0.9 * shade];
};
const blobs = (u, v) => {
  const g = (cx, cy, r) => Math.exp(-((u - cx) ** 2 + (v - cy) ** 2) / (r * r));
  return [0.1 + 0.8 * g(0.3, 0.35, 0.25), 0.1 + 0.8 * g(0.7, 0.4, 0.2), 0.15 + 0.8 * g(0.5, 0.75, 0.3)];
};
const face = (u, v) => {
  const d = Math.hypot(u - 0.5, v - 0.5);
  if (d > 0.42) return [0.25, 0.45, 0.7];
  const eye = Math.hypot(u - 0.35, v - 0.4) < 0.06 || Math.hypot(u - 0.65, v - 0.4) < 0.06;
  const mouth = v > 0.62 && v < 0.7 && Math.abs(u - 0.5) < 0.18 + 0.1 * (v - 0.62);
  if (eye) return [0.1, 0.1, 0.15];
  if (mouth) return [0.7, 0.15, 0.2];
  return [0.95, 0.8 - 0.3 * d, 0.55 - 0.3 * d];
};
fs.mkdirSync('samples', { recursive: true });
fs.writeFileSync('samples/stripes.png', scene(32, 3, stripes));
fs.writeFileSync('samples/blobs.png', scene(32, 4, blobs));
fs.writeFileSync('samples/face.png', scene(32, 5, face));
fs.writeFileSync('samples/hills.png', scene(32, 1, hills));
fs.writeFileSync('samples/rings.png', scene(32, 2, checks));
fs.writeFileSync('samples/hills-128.png', scene(128, 1, hills));
