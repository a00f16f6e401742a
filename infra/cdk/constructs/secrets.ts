// One Secrets Manager secret per institution that needs one (SMTP passwords, OAuth2 client secrets and
// refresh tokens, the DKIM private key), created with the fields to fill in and left for IT to fill.
import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { InstitutionConfig } from '../../../shared/config/schema';
import type { InstitutionSecrets } from '../../../shared/secrets';

/** The empty secret of an institution: the fields its configuration needs, in the shape the sender reads. */
export const secretTemplate = (institution: InstitutionConfig): InstitutionSecrets | undefined => {
  const transport = institution.transport;
  if (transport.kind !== 'smtp') return undefined;
  const servers = transport.servers.map((server) =>
    // Microsoft 365's application access has no refresh token: the field is then left empty.
    !server.auth ? null : 'type' in server.auth ? { clientSecret: '', refreshToken: '' } : { pass: '' },
  );
  const needsServers = servers.some(Boolean);
  if (!needsServers && !transport.dkim) return undefined;
  return { ...(needsServers ? { servers } : {}), ...(transport.dkim ? { dkimPrivateKey: '' } : {}) };
};

export class SecretsForInstitutions extends Construct {
  /** Secret by institution id. */
  public readonly secrets = new Map<string, Secret>();

  public constructor(scope: Construct, id: string, props: { institutions: InstitutionConfig[]; namePrefix: string }) {
    super(scope, id);
    for (const institution of props.institutions) {
      const template = secretTemplate(institution);
      if (!template) continue;
      const secret = new Secret(this, `Secret-${institution.id}`, {
        secretName: `${props.namePrefix}/${institution.id}`,
        description: `Notice Relay: SMTP credentials and DKIM key of ${institution.name ?? institution.id}. Fill in the empty values.`,
        // A template, not a secret: the empty fields IT fills in.
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify(template, null, 2)),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'SMTP passwords, OAuth2 client secrets and DKIM keys are issued by the mail provider and rotated there; Secrets Manager cannot rotate them.',
      });
      this.secrets.set(institution.id, secret);
    }
  }
}
