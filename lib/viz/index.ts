/** Figures and rich notebook output. `viz` never trains; it only shows results. */
export * from './display';
