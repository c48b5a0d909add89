/**
 * An 8-bit RGB image in memory: `data` is HWC, row-major, 3 interleaved channels, 0..255.
 * `gray` records that the file itself had a single channel (a grayscale PNG such as Set14's
 * bridge.png): its three channels are then equal copies, and the `raw` gray metric protocol
 * compares that one channel instead of a Y computed from RGB.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  readonly gray: boolean;
}
