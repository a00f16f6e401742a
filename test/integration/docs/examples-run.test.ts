import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalProcess, startLocalProcess } from '../../support/local-runtime';
import { fencedBlocks, page, ROOT } from '../../support/markdown';
import { temporaryDirectories } from '../../support/temp-dirs';

// The docs' shell examples, pasted into bash as a reader would, against `notice-relay start` with the
// committed config/local.json: the API's curl examples and the SMTP door's swaks example.

const temporary = temporaryDirectories();
let local: LocalProcess;

const demo = (JSON.parse(readFileSync(join(ROOT, 'config', 'local.json'), 'utf8')) as { institutions: Array<{ id: string; apiKeys: string[] }> }).institutions.find((each) => each.id === 'demo')!;
const KEY = demo.apiKeys[0] as string;
const MARK = '@@status';

/** Runs a block in bash with `env`; each curl in it also prints its HTTP status after a mark, to split the answers apart. */
const runBlock = (script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve) => {
    const prelude = `set -e\ncurl() { command curl -w '\\n${MARK} %{http_code}\\n' "$@"; }\n`;
    const child = spawn('bash', ['-c', prelude + script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });

/** The answers of a block's curls: each status with the JSON body before it (undefined when it was not JSON). */
const answersOf = (output: string): Array<{ status: number; body: unknown }> =>
  [...output.matchAll(new RegExp(`([\\s\\S]*?)\\n?${MARK} (\\d{3})\\n`, 'g'))].map((match) => {
    let body: unknown;
    try {
      body = JSON.parse(match[1] as string);
    } catch {
      body = undefined;
    }
    return { status: Number(match[2]), body };
  });

const DATE_TIME = /(\d{4})(-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2}))/g;

/**
 * The example's date-times moved on by whole years until the first is at least a week ahead, so a
 * scheduled notice stays scheduled (and within the API's 366 days) whatever the day the suite runs.
 */
const datesAhead = (example: string, now = new Date()): string => {
  const years = [...example.matchAll(DATE_TIME)].map((match) => new Date(`${match[1]}${match[2]}`));
  if (years.length === 0) return example;
  const first = Math.min(...years.map((date) => date.getTime()));
  let shift = 0;
  while (new Date(first).setUTCFullYear(new Date(first).getUTCFullYear() + shift) < now.getTime() + 7 * 86_400_000) shift++;
  return example.replace(DATE_TIME, (_, year: string, rest: string) => `${Number(year) + shift}${rest}`);
};

beforeAll(async () => {
  const dir = temporary.make('notice-relay-docs-');
  local = await startLocalProcess({ NOTICE_RELAY_DATA: join(dir, 'data'), TMPDIR: dir });
}, 90_000);

afterAll(async () => {
  local?.child.kill('SIGTERM');
  await local?.exited;
  temporary.removeAll();
});

describe('Function: datesAhead', () => {
  it('moves date-times on by whole years until the first is a week ahead, and leaves a future one be', () => {
    const body = `"sendAt":"2027-03-05T09:00:00-05:00","expiresAt":"2027-03-08T20:00:00Z"`;
    expect(datesAhead(body, new Date('2026-12-03T00:00:00Z'))).toBe(body);
    expect(datesAhead(body, new Date('2027-03-01T00:00:00Z'))).toBe(`"sendAt":"2028-03-05T09:00:00-05:00","expiresAt":"2028-03-08T20:00:00Z"`);
    expect(datesAhead(body, new Date('2029-07-01T00:00:00Z'))).toBe(`"sendAt":"2030-03-05T09:00:00-05:00","expiresAt":"2030-03-08T20:00:00Z"`);
  });
});

describe('docs/integrator/api.md, run', () => {
  const blocks = fencedBlocks(page('docs/integrator/api.md').text).filter((block) => block.info[0] === 'sh');

  it("sets API and KEY to npm start's defaults: its port and the committed demo key", () => {
    // Prepare
    const setup = blocks.find((block) => /^API=/m.test(block.body));
    // Assess
    expect(setup?.body).toContain(`KEY=${KEY}`);
    expect(setup?.body).toContain(`API=${local.apiUrl.replace(/:\d+$/, ':3000')}`);
  });

  it('answers every curl example with a 2xx, in the order the page gives them', async () => {
    // Prepare
    const examples = blocks.filter((block) => block.body.includes('curl '));
    const accepted: string[] = [];
    const transcript: Array<{ example: string; status: number; body: unknown }> = [];
    const cancellable = async (): Promise<string> => {
      for (const id of accepted) {
        const notice = (await (await fetch(`${local.apiUrl}/v1/notices/${id}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { sendAt: string | null };
        if (notice.sendAt && new Date(notice.sendAt) > new Date()) return id;
      }
      return 'none-scheduled';
    };
    // Act
    for (const { body: example } of examples) {
      // $ID is the id a POST answered: the first notice's, or, to cancel, the scheduled one's.
      const id = /-X DELETE/.test(example) ? await cancellable() : (accepted[0] ?? 'none-yet');
      const { output } = await runBlock(/ -d '/.test(example) ? datesAhead(example) : example, { API: local.apiUrl, KEY, ID: id });
      for (const answer of answersOf(output)) {
        transcript.push({ example: example.split('\n')[0] as string, ...answer });
        const body = answer.body as { id?: string; notices?: Array<{ id: string }> } | undefined;
        if (/-X POST \$API\/v1\/notices/.test(example)) accepted.push(...(body?.id ? [body.id] : (body?.notices ?? []).map((notice) => notice.id)));
      }
    }
    // Assess
    expect(examples.length).toBeGreaterThanOrEqual(7);
    expect(transcript.filter(({ status }) => status < 200 || status > 299)).toEqual([]);
    expect(transcript.length).toBeGreaterThanOrEqual(examples.length);
    expect(accepted).toHaveLength(3);
    expect(transcript).toContainEqual(expect.objectContaining({ status: 200, body: expect.objectContaining({ status: 'cancelled' }) }));
    expect(transcript).toContainEqual(expect.objectContaining({ body: expect.objectContaining({ lastTestResult: expect.objectContaining({ ok: true }) }) }));
  }, 60_000);
});

describe('docs/integrator/smtp-door.md, run', () => {
  it("accepts the swaks test message, pointed at npm start's door", async () => {
    // Prepare: the page's command, with the door's host and port as the banner prints them
    const example = fencedBlocks(page('docs/integrator/smtp-door.md').text).find((block) => block.body.startsWith('swaks '))?.body ?? 'false';
    const door = /--server (\S+)/.exec(local.swaksExample ?? '')?.[1] as string;
    // Act
    const { code, output } = await runBlock(example.replace(/--server \S+/, `--server ${door}`), { KEY });
    // Assess
    expect(door).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(code).toBe(0);
    expect(output).toMatch(/<~ {2}250 2\.6\.0 Accepted: 1 notice \([0-9A-Z]{26}\) queued\./);
  }, 60_000);
});
