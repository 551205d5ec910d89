import { drawText, textWidth } from '../formats/font.js';
import { drawScaled, type Bitmap } from '../formats/image.js';
import type { Colour, Scene } from './scene.js';

/** The scene as an RGB bitmap: no anti-aliasing, so the same scene always gives the same bytes. */
export function sceneToBitmap(scene: Scene): Bitmap {
  const { width, height } = scene;
  const img: Bitmap = { width, height, channels: 3, data: new Uint8Array(width * height * 3) };
  const set = (x: number, y: number, c: Colour) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const k = (y * width + x) * 3;
    img.data[k] = c[0]; img.data[k + 1] = c[1]; img.data[k + 2] = c[2];
  };
  const fill = (x0: number, y0: number, x1: number, y1: number, c: Colour) => {
    for (let y = Math.round(y0); y < Math.round(y1); y++)
      for (let x = Math.round(x0); x < Math.round(x1); x++) set(x, y, c);
  };
  fill(0, 0, width, height, scene.background);
  for (const m of scene.marks) {
    switch (m.kind) {
      case 'rect':
        fill(m.x, m.y, m.x + m.w, m.y + m.h, m.fill);
        break;
      case 'line': {
        // stamp a width×width square every half pixel along the segment
        const steps = Math.max(1, Math.ceil(2 * Math.hypot(m.x2 - m.x1, m.y2 - m.y1)));
        const h = m.width / 2;
        for (let s = 0; s <= steps; s++) {
          const x = m.x1 + ((m.x2 - m.x1) * s) / steps, y = m.y1 + ((m.y2 - m.y1) * s) / steps;
          fill(x - h, y - h, x + h, y + h, m.colour);
        }
        break;
      }
      case 'circle':
        for (let y = Math.floor(m.cy - m.r); y <= Math.ceil(m.cy + m.r); y++)
          for (let x = Math.floor(m.cx - m.r); x <= Math.ceil(m.cx + m.r); x++) {
            if ((x + 0.5 - m.cx) ** 2 + (y + 0.5 - m.cy) ** 2 <= m.r * m.r) set(x, y, m.fill);
          }
        break;
      case 'text': {
        const w = textWidth(m.text, m.size);
        const x = m.anchor === 'start' ? m.x : m.anchor === 'middle' ? m.x - w / 2 : m.x - w;
        drawText(img, m.text, Math.round(x), Math.round(m.y), m.size, m.colour as [number, number, number]);
        break;
      }
      case 'image':
        drawScaled(img, m.bitmap, Math.round(m.x), Math.round(m.y), m.scale);
        break;
    }
  }
  return img;
}
