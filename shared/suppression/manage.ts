// GET /v1/suppressions, PUT and DELETE /v1/suppressions/{address}: the institution's suppression list as the
// ILS (and the staff console) reads and changes it.
import type { InstitutionConfig } from '../config/schema';
import { NotFoundError, ValidationError } from '../errors';
import type { SuppressionEntry } from '../store/suppression-store';
import { emailAddress } from '../validation';
import { suppressionKey } from './address';
import { type SuppressionDeps, suppressionEntry } from './suppress';

/** An entry as the API shows it: without the institution, which the key already names. */
export type SuppressionView = Omit<SuppressionEntry, 'institutionId'>;

const view = ({ institutionId: _institution, ...rest }: SuppressionEntry): SuppressionView => rest;

/**
 * The address of a path, in the list's form; a 400 when it is not an address the API would mail, as the
 * OpenAPI document's Email says (a space or line break around it included, as in a notice's `to`).
 */
const addressOf = (raw: string): string => {
  const parsed = emailAddress.safeParse(raw);
  if (!parsed.success) throw new ValidationError('The address is not a valid email address.', [{ path: 'address', message: parsed.error.issues[0]?.message ?? 'is not a valid email address' }], 'invalid_address');
  return suppressionKey(parsed.data);
};

/** A page of the institution's entries in force, newest first. */
export const listSuppressions = async (deps: Pick<SuppressionDeps, 'suppressions' | 'clock'>, institution: InstitutionConfig, query: { limit: number; cursor?: string }) => {
  const page = await deps.suppressions.list(institution.id, { ...query, now: deps.clock.now() });
  return { suppressions: page.suppressions.map(view), cursor: page.cursor ?? null };
};

/**
 * Puts an address on the list from the API (`reason: manual`), with the caller's note; an address already
 * there gets a new entry from now.
 */
export const putSuppression = async (deps: SuppressionDeps, institution: InstitutionConfig, rawAddress: string, note?: string): Promise<SuppressionView> => {
  const entry = suppressionEntry(deps, { institutionId: institution.id, address: addressOf(rawAddress), reason: 'manual', detail: note });
  await deps.suppressions.add(entry);
  return view(entry);
};

/** Takes an address off the list, so the next notice to it is sent; a 404 when it was not there. */
export const deleteSuppression = async (deps: Pick<SuppressionDeps, 'suppressions'>, institution: InstitutionConfig, rawAddress: string): Promise<{ address: string; removed: true }> => {
  const address = addressOf(rawAddress);
  if (!(await deps.suppressions.remove(institution.id, address))) throw new NotFoundError(`${address} is not on the suppression list.`);
  return { address, removed: true };
};
