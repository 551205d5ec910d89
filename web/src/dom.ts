import type { Bitmap } from '../../src/formats/image.js';

/** Small DOM helpers for the page. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, text?: string, attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** Draws a bitmap (grey or RGB) into a canvas at its own size (CSS scales it up, pixelated). */
export function drawBitmap(canvas: HTMLCanvasElement, b: Bitmap): void {
  canvas.width = b.width;
  canvas.height = b.height;
  const img = new ImageData(b.width, b.height);
  for (let p = 0; p < b.width * b.height; p++) for (let k = 0; k < 4; k++) {
    img.data[p * 4 + k] = k === 3 ? 255 : b.data[p * b.channels + (b.channels === 1 ? 0 : k)];
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
}

/** A canvas's pixels as an RGB bitmap. */
export function canvasBitmap(canvas: HTMLCanvasElement): Bitmap {
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) for (let k = 0; k < 3; k++) data[p * 3 + k] = rgba[p * 4 + k];
  return { width, height, channels: 3, data };
}

/** A table from a head and rows of cells. */
export function fillTable(table: HTMLTableElement, head: readonly string[], rows: readonly string[][]): void {
  table.replaceChildren();
  const thead = table.createTHead().insertRow();
  for (const h of head) thead.appendChild(el('th', h, { scope: 'col' }));
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) tr.insertCell().textContent = c;
  }
}
