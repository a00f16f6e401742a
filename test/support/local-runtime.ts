// `notice-relay start` as a child process, the way `npm start` runs it, for tests that stop it hard.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
/** Free ports for the SMTP door, whose defaults (2587, 2465) another copy running on the machine may hold. */
const FREE_SMTP_PORTS = { NOTICE_RELAY_SMTP_PORT: '0', NOTICE_RELAY_SMTPS_PORT: '0' };

export interface LocalProcess {
  child: ChildProcess;
  apiUrl: string;
  mailViewerUrl: string;
  /** The banner's swaks command, as printed. */
  swaksExample?: string;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** A command the banner prints over lines continued with a backslash, as a shell reads it. */
const continuedCommand = (text: string, start: string): string | undefined => {
  const lines = text.split('\n');
  const first = lines.findIndex((line) => line.startsWith(start));
  if (first < 0) return undefined;
  let last = first;
  while (lines[last]?.endsWith('\\') && last + 1 < lines.length) last++;
  return lines.slice(first, last + 1).join('\n');
};

/** Starts `notice-relay start` (in the project's folder unless `cwd` says otherwise) and waits for its banner. */
export const startLocalProcess = async (env: Record<string, string>, { cwd = ROOT, timeoutMs = 60_000 } = {}): Promise<LocalProcess> => {
  const child = spawn(process.execPath, [join(ROOT, 'infra/cli/notice-relay.cjs'), 'start'], {
    cwd,
    env: { ...process.env, PORT: '0', ...FREE_SMTP_PORTS, POWERTOOLS_LOG_LEVEL: 'WARN', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const check = () => {
      if (/Mail viewer\s+\S+/.test(text)) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout?.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`notice-relay start did not come up:\n${text}`);
  }
  return {
    child,
    apiUrl: /API\s+(https?:\/\/\S+)/.exec(text)?.[1] as string,
    mailViewerUrl: /Mail viewer\s+(\S+)/.exec(text)?.[1] as string,
    swaksExample: continuedCommand(text, '  swaks '),
    output: () => text,
    exited,
  };
};

/** Runs `notice-relay <args>` to completion; one still running after `timeoutMs` is killed and answers code -1. */
export const runCli = (args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'infra/cli/notice-relay.cjs'), ...args], { cwd: ROOT, env: { ...process.env, ...FREE_SMTP_PORTS, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
