/**
 * A state machine for host tests: keeps every applied payload (UTF-8) in order; its
 * snapshot is that list as JSON, so a replica restored from one holds the same values.
 */
import type { GroupStateMachine } from '../../cluster/host/types.js';
import type { Entry, SnapshotMeta } from '../../raft/index.js';

export class ListMachine implements GroupStateMachine {
  applied = 0;
  readonly values: string[] = [];
  appliedIndex(): number {
    return this.applied;
  }
  apply(entry: Entry): void {
    this.applied = entry.index;
    if (entry.type === 'normal' && entry.data.byteLength > 0) this.values.push(new TextDecoder().decode(entry.data));
  }
  async restore(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<void> {
    // Chunks are joined as bytes first: a chunk boundary may split a UTF-8 character.
    const parts: Uint8Array[] = [];
    for await (const chunk of data) parts.push(chunk);
    const text = new TextDecoder().decode(Buffer.concat(parts));
    this.values.splice(0, this.values.length, ...(text === '' ? [] : (JSON.parse(text) as string[])));
    this.applied = meta.index;
  }
  *snapshotChunks(): Iterable<Uint8Array> {
    yield new TextEncoder().encode(JSON.stringify(this.values));
  }
  onRoleChange(): void {}
}
