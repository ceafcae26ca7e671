// Run inside a network namespace (ip netns exec): prints listNics() of that namespace as JSON.
import { listNics } from '../../../src/control/system/nics.ts';

process.stdout.write(JSON.stringify(await listNics()));
