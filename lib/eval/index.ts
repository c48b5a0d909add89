/** Evaluation: benchmark scoring of any upscaler, whole-image / tiled network inference, seeds. */
export * from './benchmark';
export * from './upscale';
export * from './seeds';
