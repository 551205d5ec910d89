import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built code this process runs: dist/src (this file is dist/src/cli/queue/build.js). */
const CODE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * For tests only: a build identity that replaces the computed one, so that a test can start a worker
 * of "another build" without building one. Never set it in a deployment: it disables the check.
 */
export const TEST_BUILD_ENV = 'GRADLEAK_TEST_BUILD';

/**
 * This process's build: the package version and the first 12 hex digits of a SHA-256 over the path
 * and bytes of every .js and .wasm file of the built code, in path order. The version alone does not
 * change between commits; the hash changes with any change to the code that computes a cell (and with
 * any other: the whole tree is hashed rather than guessing which modules a cell reaches). Computed
 * once at a worker's or coordinator's start (tens of ms for dist/src's 210 files; docs/DESIGN.md).
 */
export function buildIdentity(root = CODE_ROOT): string {
  const forced = process.env[TEST_BUILD_ENV];
  if (forced) return forced;
  const hash = createHash('sha256');
  for (const file of codeFiles(root)) {
    hash.update(`${file}\n`);
    hash.update(fs.readFileSync(path.join(root, file)));
  }
  return `${packageVersion(root)}+${hash.digest('hex').slice(0, 12)}`;
}

/** The code's files under `root`, relative and sorted, with '/' separators on every platform. */
function codeFiles(root: string): string[] {
  return fs.readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.(js|mjs|wasm)$/.test(d.name))
    .map((d) => path.relative(root, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
    .sort();
}

/** The version in the package.json two levels above dist/src, or "unknown" without one. */
function packageVersion(root: string): string {
  try {
    const file = path.join(root, '../../package.json');
    const { version } = JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

const REFUSAL = 'refused: another gradleak build';

/**
 * A worker's reason for refusing a job of another build (the job fails at once, without retries); it
 * names both builds, and `refusingBuild` reads the worker's back out of it on the coordinator's side.
 */
export function refusal(jobBuild: string | undefined, workerBuild: string): string {
  const theirs = jobBuild ?? 'not stated (queued by a gradleak without the build check)';
  return `${REFUSAL}: the job's (its coordinator's) is ${theirs}, this worker's is ${workerBuild}`;
}

/** The worker's build named by a refusal, or undefined when `reason` is no refusal. */
export function refusingBuild(reason: string | undefined): string | undefined {
  if (!reason?.startsWith(`${REFUSAL}: `)) return undefined;
  return /, this worker's is (.+)$/.exec(reason)?.[1];
}
