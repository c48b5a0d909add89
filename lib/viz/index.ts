/** Figures and rich notebook output. `viz` never trains; it only shows results. */
export * from './display';
export * from './budget';
export * from './figures';
export * from './table';
export * from './provenance';
export * from './checks';
export * from './key_figures';
export * from './run_curves';
export * from './gate_readout';
export * from './crops';
export * from './data_subset';
