// Which OAuth2 provider a relay's host belongs to, apart from the configuration's schema, so that the
// console's settings page can name it without loading the validator.

/** The OAuth2 provider a relay's host names: Google's and Microsoft's SMTP submission hosts. */
export const providerOfHost = (host: string): 'google' | 'microsoft' | undefined => {
  const name = host.toLowerCase();
  if (/(^|\.)(office365\.com|outlook\.com)$/.test(name)) return 'microsoft';
  if (/(^|\.)(gmail\.com|googlemail\.com)$/.test(name)) return 'google';
  return undefined;
};
