/** Figures and rich notebook output. `viz` never trains; it only shows results. */
export * from './display';
export * from './budget';
export * from './figures';
export * from './table';
export * from './provenance';
export * from './checks';
