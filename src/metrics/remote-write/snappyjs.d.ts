// snappyjs ships no types; these are the two functions this project calls (block format, as remote write uses).
declare module 'snappyjs' {
  export function compress(input: Uint8Array): Uint8Array;
  /** Throws when the declared uncompressed length exceeds maxLength, before allocating it. */
  export function uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
}
