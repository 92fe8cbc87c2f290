/**
 * The checks on names that the configuration defines: resources, tiers and client keys.
 */
import { showValue } from './issue.js';
import { CLIENT_KEY_BYTES_MAX, NAME_PATTERN } from './limits.js';

/**
 * Why `name` cannot name a resource or tier, or null when it can.
 *
 * @example
 * ```ts
 * nameProblem('resource', 'search');   // null
 * nameProblem('tier', 'gold plan');    // '"gold plan" is not a valid tier name (1-64 of A-Z a-z 0-9 _ . : -)'
 * ```
 */
export function nameProblem(kind: 'resource' | 'tier', name: string): string | null {
  if (NAME_PATTERN.test(name)) return null;
  return `${showValue(name)} is not a valid ${kind} name (1-64 of A-Z a-z 0-9 _ . : -)`;
}

/** Bytes of `text` in UTF-8, or -1 when it holds an unpaired surrogate (not encodable). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return -1;
      bytes += 4;
      i += 1;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return -1;
    else bytes += 3;
  }
  return bytes;
}

/**
 * Why `key` cannot be a client key, or null when it can: 1 to 256 bytes of UTF-8.
 *
 * @example
 * ```ts
 * clientKeyProblem('user:42'); // null
 * clientKeyProblem('');        // 'a client key must not be empty'
 * ```
 */
export function clientKeyProblem(key: string): string | null {
  const bytes = utf8ByteLength(key);
  if (bytes === 0) return 'a client key must not be empty';
  if (bytes < 0) return 'a client key must be valid UTF-8 (it holds an unpaired surrogate)';
  if (bytes > CLIENT_KEY_BYTES_MAX) {
    return `a client key is at most ${CLIENT_KEY_BYTES_MAX} bytes of UTF-8 (this one is ${bytes})`;
  }
  return null;
}
