// Notice ids are ULIDs: unique without coordination, and sortable by creation time.
import { isValid, ulid } from 'ulid';
import type { Clock } from './clock';

export type NoticeId = string;

/** Makes a new notice id from the clock's time and cryptographic randomness. */
export type IdSource = () => NoticeId;

export const ulidSource = (clock: Clock): IdSource => () => ulid(clock.now().getTime());

/** A notice id as this service issues it (26 Crockford base-32 characters, upper case). */
export const isNoticeId = (value: string): boolean => value.length === 26 && isValid(value) && value === value.toUpperCase();
