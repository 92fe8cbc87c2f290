/** The limits the end-to-end clusters run with, and the error codes a failover may produce. */
export const LIMITS = `
version: 1
defaults: { algorithm: gcra, limit: 100, period: 1h }
resources:
  gcra: { algorithm: gcra, limit: 50, period: 1h }
  sliding: { algorithm: sliding_window, limit: 30, period: 1d }
  fixed: { algorithm: fixed_window, limit: 30, period: 1d }
  small: { algorithm: gcra, limit: 5, period: 1h }
  failover: { algorithm: gcra, limit: 100, period: 1h }
`;

export const RETRYABLE: ReadonlySet<string> = new Set(['RL_ERR_NO_QUORUM', 'RL_ERR_NOT_LEADER', 'RL_ERR_TIMEOUT', 'RL_ERR_UNAVAILABLE']);
