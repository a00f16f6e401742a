// `notice-relay secret-template`: the fields IT fills in, since the stack creates every secret empty.
import { runCommand } from '../../support/cli';

describe('Command: notice-relay secret-template', () => {
  it("prints the institution's secret with every field empty, one entry per server in order, one per webhook by its URL", async () => {
    const result = await runCommand(['secret-template', '--config', 'config/example.json', '--institution', 'branch']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toEqual({ servers: [{ pass: '' }, null], dkimPrivateKey: '', webhooks: [{ url: 'https://ils.branch.example.edu/notice-relay/events', secret: '' }] });
  });

  it.each([
    [['--institution', 'demo'], 1, 'Institution demo needs no secret'],
    [['--institution', 'nobody'], 2, 'No institution "nobody" in config/example.json'],
  ])('explains why it has nothing to print: %j', async (args, code, message) => {
    const result = await runCommand(['secret-template', '--config', 'config/example.json', ...args]);
    expect(result.code).toBe(code);
    expect(result.err).toContain(message);
  });
});
