/** Training: the DDTB trainer, its config and schedule, our Adam, losses, statistics, logs, pretraining. */
export * from './config';
export * from './schedule';
export * from './adam';
export * from './losses';
export * from './statistics';
export * from './run_log';
export * from './guards';
export { train, buildPair, TrainOptions, TrainResult } from './loop';
export * from './train_checkpoint';
export * from './train_data';
export * from './pretrain';
/** Gradients as tf.variableGrads, freeing saved tensors and used gradients during the backward pass. */
export { variableGrads } from '../nn/gradients';
