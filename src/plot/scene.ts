import type { Bitmap } from '../formats/image.js';

/**
 * A chart as a list of marks in pixel coordinates. One scene is rendered twice, to SVG and to a
 * bitmap, so the PNG and the SVG of a plot always show the same thing.
 */
export type Colour = readonly [number, number, number];

export type Mark =
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; colour: Colour; width: number }
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill: Colour }
  | { kind: 'circle'; cx: number; cy: number; r: number; fill: Colour }
  /** `y` is the top of the capitals; `size` is the pixel font's scale (capitals are 5·size tall). */
  | {
    kind: 'text'; x: number; y: number; text: string; size: number; colour: Colour;
    anchor: 'start' | 'middle' | 'end';
  }
  | { kind: 'image'; x: number; y: number; bitmap: Bitmap; scale: number };

export interface Scene {
  width: number;
  height: number;
  background: Colour;
  marks: Mark[];
}

export const BLACK: Colour = [0, 0, 0];
export const GREY: Colour = [120, 120, 120];
export const LIGHT: Colour = [225, 225, 225];
export const WHITE: Colour = [255, 255, 255];
/** Distinguishable categorical colours (colour-blind-safe Okabe–Ito order). */
export const PALETTE: readonly Colour[] = [
  [0, 114, 178], [230, 159, 0], [0, 158, 115], [204, 121, 167], [86, 180, 233], [213, 94, 0],
  [240, 228, 66], [0, 0, 0],
];
