// `notice-relay`: each command's own help, and one meaning for each exit status across the commands.
import { runCommand } from '../../support/cli';

describe('Command line: notice-relay', () => {
  it.each([
    [['send-test', '--help'], 'Usage: notice-relay send-test --config F --institution ID'],
    [['dns-check', '-h'], 'Usage: notice-relay dns-check --config F [--resolver IP:PORT]'],
    [['help', 'secret-template'], 'Usage: notice-relay secret-template --config F --institution ID'],
    [['start', '--help'], 'Usage: notice-relay start'],
  ])('prints one command’s help for %j, and exits 0', async (args, usage) => {
    // Act
    const result = await runCommand(args);
    // Assess
    expect(result.code).toBe(0);
    expect(result.out.startsWith(usage)).toBe(true);
    expect(result.out).not.toContain('Commands:');
  });

  it('prints every command with the meaning of each exit status for help', async () => {
    const result = await runCommand(['help']);
    expect(result.code).toBe(0);
    expect(result.out).toContain('Commands:');
    expect(result.out).toContain('2 when the command line or the configuration file is wrong');
  });

  it.each([
    [['dns-check', '--config', 'config/example.json', '--bogus'], "Unknown option '--bogus'", 'Usage: notice-relay dns-check'],
    [['send-test', '--config', 'config/example.json', '--institution', 'demo', '--bogus'], "Unknown option '--bogus'", 'Usage: notice-relay send-test'],
    [['secret-template', '--config', 'config/example.json', '--institution', 'branch', '--bogus'], "Unknown option '--bogus'", 'Usage: notice-relay secret-template'],
    [['send-test', '--config', 'config/example.json', '--institution', 'demo', '--to', 'not-an-address'], '--to not-an-address: must be an email address', 'Usage: notice-relay send-test'],
    [['dns-records', '--config', 'config/no-such-file.json'], 'cannot read config/no-such-file.json', ''],
    [['send-test', '--config', 'config/example.json'], '--config F and --institution ID are required', 'Usage: notice-relay send-test'],
    [['help', 'no-such-command'], 'Unknown command: no-such-command', 'Commands:'],
  ])('exits 2 when the command line or the file is wrong: %j', async (args, problem, help) => {
    // Act
    const result = await runCommand(args);
    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toContain(problem);
    expect(result.err).toContain(help);
  });
});
