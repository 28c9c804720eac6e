// `zone-registry hash-password`: reads a password (the first line of stdin, typed or piped) and prints the
// `passwordScrypt` value for the credentials file.
import { hashPassword } from './password-hash';

/** The command's help text. */
export const HASH_PASSWORD_USAGE = `Usage: zone-registry hash-password [--password-stdin] < password.txt
       printf '%s\\n' "$PASSWORD" | zone-registry hash-password

Reads the password from the first line of stdin (typed: it is echoed) and prints a salted scrypt hash
(scrypt$N$r$p$<salt>$<hash>) to put in the credentials file as a user's "passwordScrypt".

Options:
  --password-stdin  read the password from stdin (the default, and the only way: never from a flag)
  -h, --help        this help`;

/** Longest password read, characters. */
export const MAX_PASSWORD_CHARS = 4096;

/** Where the command reads and writes. */
export interface HashPasswordIo {
  readonly input: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Runs the command with `argv` (after the word `hash-password`); resolves with the exit code (2: bad usage or input). */
export async function runHashPassword(argv: readonly string[], io: HashPasswordIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(`${HASH_PASSWORD_USAGE}\n`);
    return 0;
  }
  const unknown = argv.find((a) => a !== '--password-stdin');
  if (unknown !== undefined) {
    io.err(`zone-registry hash-password: unknown argument "${unknown}"\n${HASH_PASSWORD_USAGE}\n`);
    return 2;
  }
  if (io.input.isTTY) io.err('Password: ');
  const line = await firstLine(io.input);
  if (line === undefined) {
    io.err(`zone-registry hash-password: the password is longer than ${MAX_PASSWORD_CHARS} characters\n`);
    return 2;
  }
  if (line === '') {
    io.err('zone-registry hash-password: no password on stdin (an empty one is not accepted)\n');
    return 2;
  }
  io.out(`${await hashPassword(line)}\n`);
  return 0;
}

// The first line without its line ending; undefined when it is too long.
function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (value: string | undefined): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', reject);
      input.pause();
      resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline >= 0) return finish(checked(text.slice(0, newline)));
      if (text.length > MAX_PASSWORD_CHARS + 1) finish(undefined);
    };
    const onEnd = (): void => finish(checked(text));
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', reject);
  });
}

function checked(line: string): string | undefined {
  const password = line.endsWith('\r') ? line.slice(0, -1) : line;
  return password.length > MAX_PASSWORD_CHARS ? undefined : password;
}
