// SES for the institutions that send through it: one identity per From domain with Easy DKIM and a
// custom MAIL FROM domain that rejects rather than falls back to amazonses.com (so SPF always aligns),
// a configuration set whose events go to EventBridge, and the rule that hands them to the feedback
// function. An identity that already exists in the account (`transport.existingIdentity`) is used as it
// is: creating it again would fail the deployment and roll it back.
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  ConfigurationSet,
  ConfigurationSetEventDestination,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
  MailFromBehaviorOnMxFailure,
} from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { InstitutionConfig } from '../../../shared/config/schema';
import { domainOf, mailFromDomainOf } from '../../../shared/config/domains';
import { ConfigError } from '../../../shared/errors';

/** The SES events the feedback function records. */
const TRACKED_EVENTS = [EmailSendingEvent.DELIVERY, EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT, EmailSendingEvent.REJECT, EmailSendingEvent.DELIVERY_DELAY];
/** The same events by their EventBridge detail-type. */
const DETAIL_TYPES = ['Email Delivered', 'Email Bounced', 'Email Complaint Received', 'Email Rejected', 'Email Delivery Delayed'];

export interface SendingDomain {
  domain: string;
  mailFromDomain: string;
  /** The identity the stack created; absent for one that already existed (its DKIM tokens are not the stack's to know). */
  identity?: EmailIdentity;
  /** The SES institutions sending from this domain. */
  institutions: InstitutionConfig[];
}

export class MailIdentities extends Construct {
  public readonly domains: SendingDomain[] = [];
  public readonly configurationSets: ConfigurationSet[] = [];
  /** ARNs that `ses:SendRawEmail` may act on: the identities and configuration sets, never `*`. */
  public readonly sendingArns: string[] = [];
  /** The From addresses SES may send as (the `ses:FromAddress` condition). */
  public readonly fromAddresses: string[] = [];

  public constructor(scope: Construct, id: string, props: { institutions: InstitutionConfig[]; defaultConfigurationSetName: string }) {
    super(scope, id);
    const sesInstitutions = props.institutions.filter((institution) => institution.transport.kind === 'ses');
    if (sesInstitutions.length === 0) return;
    const stack = Stack.of(this);
    const arnOf = (resource: string, resourceName: string) => Arn.format({ service: 'ses', resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);

    const sets = new Map<string, ConfigurationSet>();
    const configurationSetOf = (institution: InstitutionConfig): ConfigurationSet => {
      const name = (institution.transport.kind === 'ses' && institution.transport.configurationSet) || props.defaultConfigurationSetName;
      let set = sets.get(name);
      if (!set) {
        set = new ConfigurationSet(this, `ConfigurationSet-${name}`, { configurationSetName: name, reputationMetrics: true });
        new ConfigurationSetEventDestination(this, `Events-${name}`, {
          configurationSet: set,
          destination: EventDestination.eventBus(EventBus.fromEventBusName(this, `DefaultBus-${name}`, 'default')),
          events: TRACKED_EVENTS,
        });
        sets.set(name, set);
        this.configurationSets.push(set);
        this.sendingArns.push(arnOf('configuration-set', name));
      }
      return set;
    };

    const byDomain = new Map<string, InstitutionConfig[]>();
    for (const institution of sesInstitutions) {
      const domain = domainOf(institution.from.address);
      byDomain.set(domain, [...(byDomain.get(domain) ?? []), institution]);
      this.fromAddresses.push(institution.from.address);
    }
    for (const [domain, institutions] of byDomain) {
      const mailFromDomains = new Set(institutions.map((institution) => mailFromDomainOf(institution)));
      if (mailFromDomains.size > 1) {
        throw new ConfigError(`institutions ${institutions.map((i) => i.id).join(', ')} send from ${domain} with different mailFromDomain values; one domain has one MAIL FROM domain`);
      }
      const mailFromDomain = [...mailFromDomains][0] as string;
      const existing = new Set(institutions.map((institution) => institution.transport.kind === 'ses' && institution.transport.existingIdentity));
      if (existing.size > 1) {
        throw new ConfigError(`institutions ${institutions.map((i) => i.id).join(', ')} send from ${domain} and disagree on existingIdentity; one domain has one SES identity`);
      }
      const identity = existing.has(true)
        ? undefined
        : new EmailIdentity(this, `Identity-${domain}`, {
            identity: Identity.domain(domain),
            mailFromDomain,
            // Without its MX record, SES refuses to send rather than use amazonses.com, whose SPF does not align.
            mailFromBehaviorOnMxFailure: MailFromBehaviorOnMxFailure.REJECT_MESSAGE,
            configurationSet: configurationSetOf(institutions[0] as InstitutionConfig),
          });
      // Every sender names its configuration set on each message (runtimeWithConfigurationSets), so an identity
      // whose default set is not the stack's still reports its events.
      institutions.forEach(configurationSetOf);
      this.domains.push({ domain, mailFromDomain, identity, institutions });
      this.sendingArns.push(arnOf('identity', domain));
    }
  }

  /**
   * The runtime configuration with each SES institution's configuration set named, the default one where
   * the file names none: SES then reports every message's events through the stack's set, whatever the
   * identity's own default (an identity that already existed has none of the stack's).
   */
  public static runtimeWithConfigurationSets(runtimeConfigJson: string, defaultConfigurationSetName: string): string {
    const config = JSON.parse(runtimeConfigJson) as { institutions: Array<{ transport: { kind: string; configurationSet?: string } }> };
    for (const institution of config.institutions) {
      if (institution.transport.kind === 'ses') institution.transport.configurationSet ??= defaultConfigurationSetName;
    }
    return JSON.stringify(config);
  }

  /** Sends the tracked SES events of these configuration sets to `feedback`. */
  public routeEventsTo(feedback: IFunction): Rule | undefined {
    if (this.configurationSets.length === 0) return undefined;
    return new Rule(this, 'FeedbackRule', {
      description: 'SES delivery, bounce, complaint, reject and delay events to the feedback function',
      eventPattern: {
        source: ['aws.ses'],
        detailType: DETAIL_TYPES,
        detail: { mail: { tags: { 'ses:configuration-set': this.configurationSets.map((set) => set.configurationSetName) } } },
      },
      targets: [new LambdaFunction(feedback, { retryAttempts: 8 })],
    });
  }
}
