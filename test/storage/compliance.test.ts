// Proves both NodeStorage implementations (LevelDB and in-memory) behave alike: the one
// compliance suite of compliance.ts runs unchanged against each.
import { join } from 'node:path';
import { LevelNodeStorage, MemoryDisk, MemoryNodeStorage } from '../../storage/index.js';
import { complianceSuite, type Harness } from './compliance.js';
import { makeTempDir, removeDir } from './temp-dir.js';

complianceSuite('MemoryNodeStorage', async (): Promise<Harness> => {
  const disk = new MemoryDisk();
  return { open: (options = {}) => MemoryNodeStorage.open(options, { disk }), dispose: async () => undefined };
});

complianceSuite('LevelNodeStorage', async (): Promise<Harness> => {
  const dir = await makeTempDir('compliance');
  // fsync off: the suite checks behaviour, not durability (crash.test.ts does), and a
  // shared 2-core machine should not pay thousands of fsyncs for it.
  return {
    open: (options = {}) => LevelNodeStorage.open({ fsync: 'off', ...options, location: join(dir, 'db') }),
    dispose: () => removeDir(dir),
  };
});
