import type { Message, ProposeResult, Ready } from '../../raft/index.js';

/** One-line, deterministic description of a Raft message for the event trace. */
export function describeMessage(m: Message): string {
  switch (m.type) {
    case 'appendEntries': {
      const f = m.entries[0];
      const l = m.entries[m.entries.length - 1];
      const ents = f !== undefined && l !== undefined ? ` ents[${f.index}..${l.index}]` : '';
      return `app t${m.term} prev=${m.prevLogIndex}/t${m.prevLogTerm}${ents} c${m.commit}`;
    }
    case 'appendEntriesResponse':
      return m.reject
        ? `appResp t${m.term} REJECT idx=${m.index} hint=${m.hintIndex}/t${m.hintTerm}`
        : `appResp t${m.term} ok idx=${m.index}`;
    case 'heartbeat':
      return `hb t${m.term} c${m.commit} seq=${m.seq}`;
    case 'heartbeatResponse':
      return `hbResp t${m.term} seq=${m.seq}`;
    case 'requestVote':
      return `vote t${m.term} last=${m.lastLogIndex}/t${m.lastLogTerm}${m.transfer ? ' transfer' : ''}`;
    case 'requestVoteResponse':
      return `voteResp t${m.term} ${m.granted ? 'GRANT' : 'reject'}`;
    case 'requestPreVote':
      return `prevote t${m.term} last=${m.lastLogIndex}/t${m.lastLogTerm}`;
    case 'requestPreVoteResponse':
      return `prevoteResp t${m.term} ${m.granted ? 'grant' : 'reject'}`;
    case 'installSnapshot':
      return `snap t${m.term} @${m.meta.index}/t${m.meta.term} off=${m.offsetBytes} len=${m.data.byteLength}${m.last ? ' last' : ''}`;
    case 'installSnapshotResponse':
      return `snapResp t${m.term} @${m.snapshotIndex}/t${m.snapshotTerm} next=${m.nextOffsetBytes}`;
    case 'timeoutNow':
      return `timeoutNow t${m.term}`;
  }
}

/** One-line summary of a Ready for the event trace. */
export function describeReady(rd: Ready): string {
  const parts: string[] = [];
  if (rd.softState !== null) parts.push(`soft(${rd.softState.role},leader=${rd.softState.leader ?? '-'})`);
  if (rd.hardState !== null) {
    parts.push(`hard(t${rd.hardState.term},v=${rd.hardState.vote ?? '-'},c${rd.hardState.commit})`);
  }
  if (rd.snapshot !== null) parts.push(`snap(@${rd.snapshot.meta.index}/t${rd.snapshot.meta.term})`);
  const f = rd.entries[0];
  const l = rd.entries[rd.entries.length - 1];
  if (f !== undefined && l !== undefined) parts.push(`ents[${f.index}..${l.index}]t${l.term}`);
  const cf = rd.committedEntries[0];
  const cl = rd.committedEntries[rd.committedEntries.length - 1];
  if (cf !== undefined && cl !== undefined) parts.push(`apply[${cf.index}..${cl.index}]`);
  if (rd.messages.length > 0) parts.push(`msgs=${rd.messages.length}`);
  if (rd.messagesAfterPersist.length > 0) parts.push(`msgsAfter=${rd.messagesAfterPersist.length}`);
  if (rd.readStates.length > 0) parts.push(`reads=${rd.readStates.map((r) => `${r.ctx}@${r.index}`).join(',')}`);
  if (rd.mustSync) parts.push('sync');
  return parts.join(' ');
}

/** One-line summary of a proposal's result for the event trace. */
export function describeResult(r: ProposeResult): string {
  switch (r.type) {
    case 'accepted':
      return `accepted@${r.index}/t${r.term}`;
    case 'notLeader':
      return `notLeader(hint=${r.leaderHint ?? '-'})`;
    case 'dropped':
      return `dropped(${r.reason})`;
  }
}
