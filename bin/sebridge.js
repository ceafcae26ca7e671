#!/usr/bin/env -S node --max-semi-space-size=1
// Entry point of the `sebridge` command. Runs the compiled JavaScript in dist/ (built by `npm install` through the
// `prepare` script, or `npm run build`): type stripping at run time would cost ~45 MiB of memory.
let cli;
try {
  cli = await import('../dist/cli.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('sebridge: dist/ is missing: run `npm install` (or `npm run build`) in the checkout first');
    process.exit(1);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(`sebridge: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
