// Child process of durability.test.ts: updates the configuration in a tight loop until it is killed. Before each
// update it prints the generation it is about to write ("about N"), after it "done N". writeSync: the line is in
// the pipe before the write starts, whatever moment the SIGKILL comes.
import { writeSync } from 'node:fs';
import { ConfigStore } from '../../../src/control/config/store.ts';
import { applyGeneration, generationOf } from './durability-doc.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: durability-child.ts DIR');
const store = await ConfigStore.open(dir);
let gen = generationOf(store.get());
writeSync(1, `ready ${gen}\n`);
for (;;) {
  const next = gen + 1;
  writeSync(1, `about ${next}\n`);
  await store.update((d) => applyGeneration(d, next));
  writeSync(1, `done ${next}\n`);
  gen = next;
}
