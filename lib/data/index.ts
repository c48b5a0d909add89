/** lib/data: image files, data roots and layouts, data sets, the LR cache, the PRNG and the patch sampler. */
export * from './image';
export * from './folders';
export * from './datasets';
export * from './lr_cache';
export * from './prng';
export * from './patches';
