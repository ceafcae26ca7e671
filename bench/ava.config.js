// The project's ava config (package.json) runs test/**; this one runs the benchmark helpers' own unit tests.
export default {
  files: ['bench/**/*.test.ts'],
  extensions: { ts: 'module' },
  workerThreads: false,
};
