/**
 * Builds the browser UI into dist/web/: index.html plus content-hashed JS and CSS, so the daemon can
 * serve the assets with a long cache lifetime and index.html with none. Run: `node web/build.ts`.
 * Everything is bundled (uPlot included): the appliance UI must work without internet access, and the
 * daemon's CSP (default-src 'self') forbids inline scripts/styles and foreign origins.
 */
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm, writeFile, readdir, stat } from 'node:fs/promises';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const gzipAsync = promisify(gzip);
const webDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(webDir);
const outDir = path.join(root, 'dist', 'web');
/** The budget from the product brief: the whole UI, gzip-compressed. */
const BUDGET_GZIP_BYTES = 300 * 1024;

async function main(): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: path.join(webDir, 'src', 'main.ts'), style: path.join(webDir, 'style.css') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome105', 'firefox110', 'safari16'],
    outdir: outDir,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'eof',
    tsconfig: path.join(webDir, 'tsconfig.json'),
    logLevel: 'warning',
  });

  let script = '';
  let style = '';
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    const name = path.basename(file);
    if (info.entryPoint?.endsWith('main.ts')) script = name;
    else if (info.entryPoint?.endsWith('style.css')) style = name;
  }
  if (!script || !style) throw new Error(`esbuild did not produce both entry outputs: ${JSON.stringify(Object.keys(result.metafile.outputs))}`);

  const html = (await readFile(path.join(webDir, 'index.html'), 'utf8'))
    .replace('%SCRIPT%', `./${script}`)
    .replace('%STYLE%', `./${style}`);
  if (html.includes('%SCRIPT%') || html.includes('%STYLE%')) throw new Error('index.html placeholders not replaced');
  await writeFile(path.join(outDir, 'index.html'), html);
  await copyFile(path.join(webDir, 'favicon.svg'), path.join(outDir, 'favicon.svg'));

  let raw = 0;
  let compressed = 0;
  const lines: string[] = [];
  for (const name of (await readdir(outDir)).sort()) {
    const data = await readFile(path.join(outDir, name));
    const gz = (await gzipAsync(data, { level: 9 })).length;
    raw += (await stat(path.join(outDir, name))).size;
    compressed += gz;
    lines.push(`  ${name.padEnd(28)} ${kib(data.length).padStart(9)}  gzip ${kib(gz).padStart(9)}`);
  }
  console.log(`dist/web:\n${lines.join('\n')}\n  total ${kib(raw)}, gzip ${kib(compressed)} (budget ${kib(BUDGET_GZIP_BYTES)})`);
  if (compressed > BUDGET_GZIP_BYTES) throw new Error(`UI is ${kib(compressed)} gzip, over the ${kib(BUDGET_GZIP_BYTES)} budget`);
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
