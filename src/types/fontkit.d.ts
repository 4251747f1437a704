/** Minimal types for fontkit (it ships none): open a font file and measure laid-out text. */
declare module 'fontkit' {
  export interface Font {
    unitsPerEm: number;
    layout(text: string): { advanceWidth: number };
  }
  export function openSync(path: string): Font;
}
