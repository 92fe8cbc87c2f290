export * from './codec.js';
export * from './replica.js';
export * from './leader.js';
