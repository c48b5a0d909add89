/**
 * Shared vocabulary of the quantizers (spec sections 2-5). Literal unions only; each module owns its
 * own config type and imports these.
 */

/**
 * What an activation quantizer does with its input, set from outside by name (style guide 1.5):
 * - `float`: statistics mode (spec 2.5, the official `k_bits == 32`): the input passes unchanged and
 *   the max and min of the whole batch tensor are recorded (for the dynamic intensity, spec 4);
 * - `quantize`: fake-quantize (calibrating first where the calibration rule says so).
 */
export type QuantMode = 'float' | 'quantize';

/**
 * Gradient of the dynamic gate's internal 2-bit activation quantizers (spec 3.2, 11.7):
 * - `official`: they detach, as in the official code, so only the gate's last 1x1 conv learns;
 * - `ste`: straight-through, so every gate parameter learns (the "paper" reading).
 */
export type GateGradientMode = 'official' | 'ste';

/**
 * When a DDTB quantizer initialises its bounds from percentiles (spec 2.6, 11.1):
 * - `two-bit-only`: the official behaviour, only at k = 2 (3 and 4 bits start from +-10);
 * - `every-bit-width`: at every k.
 */
export type CalibrationPolicy = 'two-bit-only' | 'every-bit-width';

/** Bit widths the quantizers accept (the paper uses 2, 3 and 4). */
export function checkBits(bits: number, where: string): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) {
    throw new Error(`${where}: bits must be an integer in 1..16, got ${bits}`);
  }
}
