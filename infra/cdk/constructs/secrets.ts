// One Secrets Manager secret per institution that needs one (SMTP passwords, OAuth2 client secrets and
// refresh tokens, the DKIM private key), created empty for IT to fill in.
import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { InstitutionConfig } from '../../../shared/config/schema';
import { secretTemplate } from '../../../shared/secrets';

/**
 * The value the stack gives a secret: the same whatever the configuration says. CloudFormation writes a
 * secret's value again whenever the template's value changes, so a value that followed the configuration
 * (adding a backup server, say) would wipe the passwords IT had put in. The fields to fill come from
 * `notice-relay secret-template` instead.
 */
export const UNFILLED_SECRET = '{}';

export class SecretsForInstitutions extends Construct {
  /** Secret by institution id. */
  public readonly secrets = new Map<string, Secret>();

  /**
   * `namePrefix`/<institution>-`nameSuffix`: the suffix is unique to the deployment, so that a stack deployed
   * again under the same name does not collide with the secrets its deleted predecessor kept.
   */
  public constructor(scope: Construct, id: string, props: { institutions: InstitutionConfig[]; namePrefix: string; nameSuffix: string }) {
    super(scope, id);
    for (const institution of props.institutions) {
      if (!secretTemplate(institution)) continue;
      const secret = new Secret(this, `Secret-${institution.id}`, {
        secretName: `${props.namePrefix}/${institution.id}-${props.nameSuffix}`,
        description: `Notice Relay: SMTP credentials, DKIM key and webhook signing secrets of institution ${institution.id}. The fields to fill in: npx notice-relay secret-template --config <file> --institution ${institution.id}`,
        secretStringValue: SecretValue.unsafePlainText(UNFILLED_SECRET),
        // Kept when the stack is deleted (it holds what IT put in), removed when a first deploy rolls back,
        // so that its name is free for the next try.
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'SMTP passwords, OAuth2 client secrets and DKIM keys are issued by the mail provider and rotated there; Secrets Manager cannot rotate them.',
      });
      this.secrets.set(institution.id, secret);
    }
  }
}
