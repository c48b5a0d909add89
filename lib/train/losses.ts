/**
 * Training losses of the quantized student (spec 7.2, 12.13, 3.3). Tensors are NHWC float32 on the
 * 0..255 scale; every loss returns a scalar.
 *
 *   L = l1Loss(sr, hr) + 1000 * attentionTransferLoss(F_s, F_t) + [epochs 2-5] gateLogitRegularizer(c)
 */
import * as tf from '@tensorflow/tfjs';
import { detach } from '../quant/ste';

/** Mean absolute error over all elements. sr, hr: the same shape. */
export function l1Loss(sr: tf.Tensor, hr: tf.Tensor): tf.Scalar {
  if (sr.shape.join(',') !== hr.shape.join(',')) throw new Error(`l1Loss: shapes differ, [${sr.shape.join(',')}] vs [${hr.shape.join(',')}]`);
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(sr, hr))) as tf.Scalar);
}

/**
 * The attention map of SKT / PAMS (official `at`): features F [N,H,W,C] -> [N, H*W], the channel mean
 * of F^2, flattened row-major over (H, W), L2-normalised per sample (x / max(||x||, 1e-12), as
 * F.normalize).
 */
export function attentionMap(features: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = features.shape;
  return tf.tidy(() => {
    const energy = tf.reshape(tf.div(tf.sum(tf.square(features), 3), c), [n, h * w]);
    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(energy), 1, true)), 1e-12);
    return tf.div(energy, norm) as tf.Tensor2D;
  });
}

/**
 * Attention-transfer loss (official `at_loss`): mean over N*H*W of (A(F_s) - A(F_t))^2, unweighted
 * (training multiplies by 1000). The teacher features are detached: the teacher gets no gradient.
 */
export function attentionTransferLoss(student: tf.Tensor4D, teacher: tf.Tensor4D): tf.Scalar {
  if (student.shape.join(',') !== teacher.shape.join(',')) {
    throw new Error(`attentionTransferLoss: feature shapes differ, [${student.shape.join(',')}] vs [${teacher.shape.join(',')}]`);
  }
  return tf.tidy(() => tf.mean(tf.square(tf.sub(attentionMap(student), attentionMap(detach(teacher))))) as tf.Scalar);
}

/**
 * The first-stage gate regulariser (spec 3.3): the mean over the gates that ran of MSE(c, 0), c the
 * pre-sigmoid logits of each gate (`lastGateLogits`). No gates: 0.
 */
export function gateLogitRegularizer(logits: readonly tf.Tensor[]): tf.Scalar {
  if (logits.length === 0) return tf.scalar(0);
  return tf.tidy(() => tf.div(tf.addN(logits.map((c) => tf.mean(tf.square(c)))), logits.length) as tf.Scalar);
}
