// How the suppression list compares addresses (docs/integrator/api.md: Suppressions and webhook deliveries): the whole address in lower case.
// Mail systems compare the domain without regard to case (RFC 5321 §2.4); the local part may be case-
// sensitive in principle, but no mailbox provider treats it so, and SES's own account-level list does not
// either: a list that told `Pat@…` from `pat@…` would let a known-bad address through on a change of case.
/** The key an address is suppressed under. */
export const suppressionKey = (address: string): string => address.trim().toLowerCase();
