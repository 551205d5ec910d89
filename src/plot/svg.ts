import { encodeImagePng } from '../formats/image.js';
import { base64 } from '../formats/base64.js';
import type { Colour, Scene } from './scene.js';

const rgb = (c: Colour) => `rgb(${c[0]},${c[1]},${c[2]})`;
const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number) => String(Math.round(v * 100) / 100);

/** The scene as a standalone SVG document (text in a monospace face sized like the pixel font). */
export function sceneToSvg(scene: Scene): string {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" `
      + `viewBox="0 0 ${scene.width} ${scene.height}">`,
    `<rect width="100%" height="100%" fill="${rgb(scene.background)}"/>`,
  ];
  for (const m of scene.marks) {
    switch (m.kind) {
      case 'line':
        out.push(`<line x1="${n(m.x1)}" y1="${n(m.y1)}" x2="${n(m.x2)}" y2="${n(m.y2)}" `
          + `stroke="${rgb(m.colour)}" stroke-width="${n(m.width)}"/>`);
        break;
      case 'rect':
        out.push(`<rect x="${n(m.x)}" y="${n(m.y)}" width="${n(m.w)}" height="${n(m.h)}" `
          + `fill="${rgb(m.fill)}"/>`);
        break;
      case 'circle':
        out.push(`<circle cx="${n(m.cx)}" cy="${n(m.cy)}" r="${n(m.r)}" fill="${rgb(m.fill)}"/>`);
        break;
      case 'text':
        // capitals of a monospace face are about 0.7 em tall and its glyphs 0.6 em wide: 7·size
        // matches the pixel font's 5·size capitals and 4·size advance closely enough
        out.push(`<text x="${n(m.x)}" y="${n(m.y + 5 * m.size)}" font-family="monospace" `
          + `font-size="${n(7 * m.size)}" text-anchor="${m.anchor}" fill="${rgb(m.colour)}">`
          + `${esc(m.text)}</text>`);
        break;
      case 'image':
        out.push(`<image x="${n(m.x)}" y="${n(m.y)}" width="${m.bitmap.width * m.scale}" `
          + `height="${m.bitmap.height * m.scale}" style="image-rendering:pixelated" `
          + `href="data:image/png;base64,${base64(encodeImagePng(m.bitmap))}"/>`);
        break;
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
