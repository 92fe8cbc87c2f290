import type { MemoryStorage, Message, NodeId } from '../../raft/index.js';
import { describeMessage } from './describe.js';
import { fail } from './invariants.js';

/**
 * The `Ready` ordering rule, checked where it matters: a message that promises something
 * about the sender's durable state (a vote, a campaign, an acknowledgement of entries or
 * of a leader's term) may leave only once that state is on disk. The node's storage is
 * its persisted image, so this holds exactly when the core put the message in the right
 * list (`messagesAfterPersist`) and the writes it depends on in the same or an earlier Ready.
 */
export function checkDurableBeforeSend(id: NodeId, storage: MemoryStorage, m: Message): void {
  const hs = storage.initialState().hardState;
  const what = `${id} sends ${describeMessage(m)}`;
  switch (m.type) {
    // A vote or campaign of an older term than the disk's (queued before the node moved on
    // to a newer term) is stale but safe: the node can never act in that term again.
    case 'requestVoteResponse':
      if (m.granted && (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to))) {
        fail('persist-before-send', `${what} but its disk holds term ${hs.term} vote ${hs.vote ?? '-'}`);
      }
      return;
    case 'requestVote':
      if (hs.term < m.term || (hs.term === m.term && hs.vote !== id)) {
        fail('persist-before-send', `${what} but its disk holds term ${hs.term} vote ${hs.vote ?? '-'}`);
      }
      return;
    case 'appendEntriesResponse':
    case 'heartbeatResponse':
    case 'installSnapshotResponse':
    case 'requestPreVoteResponse':
      if (m.type !== 'requestPreVoteResponse' && hs.term < m.term) {
        fail('persist-before-send', `${what} but its disk holds term ${hs.term}`);
      }
      // Even a stale acknowledgement must hold: its leader may still count it.
      if (m.type === 'appendEntriesResponse' && !m.reject) {
        const held = Math.max(storage.lastIndex(), storage.snapshot().index);
        if (held < m.index) fail('persist-before-send', `${what} but its disk holds the log only to ${held}`);
      }
      return;
    default:
      return;
  }
}
