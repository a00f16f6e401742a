// Secrets that never sit in the configuration file on AWS (README: Configuration): SMTP passwords, OAuth2
// client secrets and refresh tokens, DKIM private keys. One secret per institution, a JSON document:
//   {"servers": [{"pass": "…"}, {"clientSecret": "…", "refreshToken": "…"}], "dkimPrivateKey": "-----BEGIN…"}
// `servers` is in the order of the configuration's servers. A value in the file wins over the secret.

export interface ServerSecrets {
  pass?: string;
  clientSecret?: string;
  refreshToken?: string;
}

export interface InstitutionSecrets {
  servers?: Array<ServerSecrets | null>;
  dkimPrivateKey?: string;
}

export interface SecretSource {
  forInstitution(institutionId: string): Promise<InstitutionSecrets>;
}

/** For `npm start` and tests: every secret is in the configuration file. */
export const noSecrets: SecretSource = { forInstitution: async () => ({}) };
