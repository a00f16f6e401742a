// The command line in this process, its output captured: what `notice-relay …` prints and exits with.
import { run } from '../../infra/cli/main';

export const runCommand = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
  let out = '';
  let err = '';
  const code = await run(args, { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) });
  return { code, out, err };
};
