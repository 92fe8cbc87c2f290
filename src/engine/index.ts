export * from './types.js';
export * from './gcra.js';
export * from './fixed-window.js';
export * from './sliding-window.js';
export * from './concurrency.js';
export * from './algorithm.js';
export * from './store.js';
export * from './limiter.js';
