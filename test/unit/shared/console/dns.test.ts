import { dnsPage } from '../../../../shared/console/dns';
import type { DnsResolver } from '../../../../shared/dns/check';
import { dkimPublicKeyOf } from '../../../../shared/dns/records';
import { silentLog } from '../../../../shared/log';
import { aConfig, aConfigInput, aDkimPrivateKey, aRelayingInstitutionInput, aSesInstitutionInput } from '../../../support/factories';

/** A DNS server that knows nothing: every name is NXDOMAIN. */
const emptyZone: DnsResolver = {
  resolveCname: (name) => Promise.reject(Object.assign(new Error(name), { code: 'ENOTFOUND' })),
  resolveMx: (name) => Promise.reject(Object.assign(new Error(name), { code: 'ENOTFOUND' })),
  resolveTxt: (name) => Promise.reject(Object.assign(new Error(name), { code: 'ENOTFOUND' })),
};

describe('Function: dnsPage', () => {
  it("checks the library's own records and lists them as zone lines, without the SPF of its mail system", async () => {
    // Prepare: an SES library with its Easy DKIM tokens known, and another library sharing nothing
    const config = aConfig({ institutions: [aSesInstitutionInput(), aConfigInput().institutions[1]!] });
    // Act
    const page = await dnsPage({ config, resolver: emptyZone, region: 'eu-west-1', dkimTokens: { 'library.example.org': ['t1', 't2', 't3'] }, secrets: { forInstitution: async () => ({}) }, log: silentLog }, config.institutions[0]!);
    // Assess
    expect(page.results.map((result) => [result.record.purpose, result.status])).toEqual([
      ['dkim', 'missing'],
      ['dkim', 'missing'],
      ['dkim', 'missing'],
      ['mail-from-mx', 'missing'],
      ['mail-from-spf', 'missing'],
      ['dmarc', 'missing'],
    ]);
    expect(page.zoneLines).toContain('t1._domainkey.library.example.org. 3600 IN CNAME t1.dkim.amazonses.com.');
    expect(page.zoneLines).toContain('bounce.library.example.org. 3600 IN MX 10 feedback-smtp.eu-west-1.amazonses.com.');
    expect(page.zoneLines.join('\n')).not.toContain('branch.example.edu');
    expect(page.allRight).toBe(false);
  });

  it("writes a relaying library's DKIM record from the key in its secret, never the key itself", async () => {
    // Prepare
    const key = aDkimPrivateKey();
    const config = aConfig({ institutions: [aRelayingInstitutionInput({ selector: 'notices' })] });
    // Act
    const page = await dnsPage({ config, resolver: emptyZone, region: 'us-east-1', secrets: { forInstitution: async () => ({ dkimPrivateKey: key }) }, log: silentLog }, config.institutions[0]!);
    // Assess
    expect(page.zoneLines[0]).toContain(`notices._domainkey.branch.example.edu. 3600 IN TXT "v=DKIM1; k=rsa; p=${dkimPublicKeyOf(key).slice(0, 200)}`);
    expect(page.zoneLines.join('\n')).not.toContain('PRIVATE KEY');
    expect(page.zoneLines.some((line) => line.includes('v=spf1'))).toBe(false);
  });
});
