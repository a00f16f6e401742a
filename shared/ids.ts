// Notice ids are ULIDs: unique without coordination, and sortable by creation time.
import { randomFillSync } from 'node:crypto';
import { isValid, ulid } from 'ulid';
import type { Clock } from './clock';

export type NoticeId = string;

/** Makes a new notice id from the clock's time and cryptographic randomness. */
export type IdSource = () => NoticeId;

const POOL_BYTES = 4096;

/**
 * ulid's source of randomness: one byte of a pooled crypto buffer per call, as byte / 256. ulid draws
 * one call per character and keeps floor(x × 32), the byte's top five bits, so each character stays
 * uniform; its own default asks the OS for random bytes once per character, 16 times per id.
 */
export const pooledCryptoRandom = (): (() => number) => {
  const pool = Buffer.alloc(POOL_BYTES);
  let next = POOL_BYTES;
  return () => {
    if (next === POOL_BYTES) {
      randomFillSync(pool);
      next = 0;
    }
    return (pool[next++] as number) / 256;
  };
};

export const ulidSource = (clock: Clock, random: () => number = pooledCryptoRandom()): IdSource => () => ulid(clock.now().getTime(), random);

/** A notice id as this service issues it (26 Crockford base-32 characters, upper case). */
export const isNoticeId = (value: string): boolean => value.length === 26 && isValid(value) && value === value.toUpperCase();
