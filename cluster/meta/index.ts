/** The meta group (group 0): replicated cluster map and versioned configuration document. */
export * from './meta-types.js';
export { MetaStateMachine, groupsHolding, mapChangeRefusal, type MetaListener } from './meta-machine.js';
export { MetaCodecError, decodeCommand, encodeCommand } from './meta-codec.js';
export { metaMembership, bootstrapClusterMap } from './membership.js';
export { slotsOf, splitRefusal } from './split.js';
export { FACTORS_MAX, FACTOR_REASON_CHARS_MAX, FACTOR_SIGNALS_MAX, type FactorCommand, type FactorSignals, type FactorUpdate, type ResourceFactor } from './factors.js';
