/**
 * "Did you mean" hints for misspelt field names and values.
 */

/** Hints are offered at most this many edits away: enough for a typo, few false friends. */
const HINT_EDITS_MAX = 2;

/**
 * Edit distance with adjacent transpositions (optimal string alignment), so `burts` is one
 * edit from `burst`. Inputs are short field names; the cost is O(|a| × |b|).
 */
export function editDistance(a: string, b: string): number {
  const width = b.length + 1;
  // Three rolling rows: two back (for transpositions), previous, current.
  let before = new Array<number>(width).fill(0);
  let previous = Array.from({ length: width }, (_, j) => j);
  let current = new Array<number>(width).fill(0);
  for (let i = 1; i <= a.length; i += 1) {
    current[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (before[j - 2] ?? 0) + 1);
      }
      current[j] = best;
    }
    [before, previous, current] = [previous, current, before];
  }
  return previous[b.length] ?? 0;
}

/**
 * The closest of `candidates` to `word`, at most two edits away (first wins a tie), or null.
 *
 * @example
 * ```ts
 * closestName('burts', ['limit', 'burst']); // 'burst'
 * closestName('zzz', ['limit', 'burst']);   // null
 * ```
 */
export function closestName(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = HINT_EDITS_MAX + 1;
  for (const candidate of candidates) {
    // Names far apart in length cannot be close; skip the quadratic work.
    if (Math.abs(candidate.length - word.length) > HINT_EDITS_MAX) continue;
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** ` (did you mean "burst"?)` or the empty string: ready to append to a message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const close = closestName(word, candidates);
  return close === null ? '' : ` (did you mean ${JSON.stringify(close)}?)`;
}
