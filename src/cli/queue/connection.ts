import { Redis } from 'ioredis';
import { fail, InputError } from '../../core/errors.js';

/** The queue's name in Redis (keys bull:gradleak-cells:*): study and defend cells share it. */
export const QUEUE_NAME = 'gradleak-cells';

/**
 * A --queue URL, checked: redis:// or rediss:// (TLS), a host, an optional port and database; the
 * password from the URL (redis://:PASSWORD@host) or from GRADLEAK_REDIS_PASSWORD.
 */
export interface QueueAddress {
  url: string;
  /** The URL without its password, for messages. */
  shown: string;
}

export function queueAddress(text: string): QueueAddress {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    fail(`--queue ${JSON.stringify(text.slice(0, 80))} is not a URL: give redis://host:port[/db]`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    fail(`--queue takes a redis:// or rediss:// URL, not ${u.protocol}//`);
  }
  if (!u.hostname) fail('--queue: the URL names no host (redis://host:port[/db])');
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,5}$/.test(u.pathname)) {
    fail(`--queue: the database ${JSON.stringify(u.pathname.slice(1, 40))} is not a number`);
  }
  if (u.search || u.hash) fail('--queue: the URL takes no query or fragment');
  // a password in the environment stays out of the command line (which `ps` shows to every user)
  const password = process.env.GRADLEAK_REDIS_PASSWORD;
  if (password && !u.password) u.password = encodeURIComponent(password);
  const shown = new URL(u.href);
  if (shown.password) shown.password = '***';
  return { url: u.href, shown: shown.href.replace(/\/$/, '') };
}

/**
 * A connection that reconnects on its own; errors go to `onError` (ioredis would otherwise print each
 * attempt). `blocking`: for a BullMQ worker, which asks for no per-command retry limit.
 */
export function connect(address: QueueAddress, onError: (e: Error) => void, blocking: boolean): Redis {
  // a worker's blocking reads wait out an outage; a coordinator's commands fail after one reconnection
  // attempt, so that it can tell a lost Redis from a slow one
  const redis = new Redis(address.url, {
    maxRetriesPerRequest: blocking ? null : 1, connectionName: 'gradleak',
  });
  redis.on('error', onError);
  return redis;
}

/**
 * Fails in one line when the Redis cannot be reached (refused, unknown host, wrong password, too
 * old for BullMQ) within `seconds`, so nothing is enqueued or waited for in vain.
 */
export async function checkReachable(address: QueueAddress, seconds = 5): Promise<void> {
  const probe = new Redis(address.url, {
    lazyConnect: true, connectTimeout: seconds * 1000, maxRetriesPerRequest: 0, retryStrategy: () => null,
  });
  // the connection's own error says why (ECONNREFUSED, ENOTFOUND); the failed command only that it closed
  const cause = { message: '' };
  probe.on('error', (e: Error) => { cause.message ||= e.message; });
  try {
    await probe.connect();
    const info = await probe.info('server');
    const major = Number(/redis_version:(\d+)/.exec(info)?.[1] ?? 0);
    if (major < 5) fail(`the Redis at ${address.shown} is version ${major}; BullMQ needs 5 or later`);
  } catch (e) {
    if (e instanceof InputError) throw e;
    fail(`cannot reach Redis at ${address.shown}: ${(cause.message || (e as Error).message).split('\n')[0]}`);
  } finally {
    probe.disconnect();
  }
}
