/**
 * Adaptive limits (docs/adaptive.md): the pure controller that turns one interval's
 * signals into the next factor of a resource, and the window that gathers the signals.
 */
export { CONTROLLER_PARAMS, stepFactor, type ControllerAction, type ControllerDecision, type ControllerParams, type ControllerState, type SignalSource } from './controller.js';
export { SignalWindow, WINDOW_INTERVALS_MAX, rateInterval, reportPercentileIntervalMs, reportPercentileMs, signalsRecord, type LimiterLoad, type ResourcePush, type ResourceSignals } from './signals.js';
