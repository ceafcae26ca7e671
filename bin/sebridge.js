#!/usr/bin/env node
// Entry point of the `sebridge` command. Runs the TypeScript sources directly (Node 24 strips types);
// the single-executable build bundles the same entry.
import { main } from '../src/cli.ts';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(`sebridge: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
