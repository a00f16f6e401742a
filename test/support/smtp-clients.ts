// SMTP clients no one here wrote, to drive the SMTP door as an ILS does: Python's smtplib and Perl's
// Email::Sender (what Koha sends with), each run as a child process, and a raw conversation for what no
// client library does on purpose (hanging up before the final reply, reading EHLO's keywords).
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface ClientMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
  headers?: Record<string, string>;
}

export interface ClientConnection {
  port: number;
  /** `starttls` (587), `implicit` (465) or plain. */
  tls?: 'starttls' | 'implicit';
  /** PEM of the CA the client trusts. */
  ca?: string;
  user?: string;
  password?: string;
  /** The local address to connect from (another loopback address is another network to the door). */
  source?: string;
}

/** What a client saw: the final reply, or the reply that refused the message and at which step. */
export interface ClientResult {
  ok: boolean;
  code?: number;
  message?: string;
  step?: string;
}

/** Runs a client script with its arguments as JSON on stdin (a message can be larger than a command line). */
const run = (command: string, args: string[], input: unknown): Promise<ClientResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end(JSON.stringify(input));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as ClientResult);
      } catch {
        reject(new Error(`${command} exited with ${code}: ${stdout}\n${stderr}`));
      }
    });
  });

const PYTHON = String.raw`
import json, os, smtplib, ssl, sys, tempfile
from email.message import EmailMessage
a = json.loads(sys.stdin.read())
msg = EmailMessage()
msg['From'] = a['from']
msg['To'] = ', '.join(a['to'])
msg['Subject'] = a['subject']
for name, value in a.get('headers', {}).items():
    msg[name] = value
msg.set_content(a['text'])
context = None
if a.get('ca'):
    with tempfile.NamedTemporaryFile('w', suffix='.pem', delete=False) as f:
        f.write(a['ca'])
    context = ssl.create_default_context(cafile=f.name)
    # The context holds the certificates once loaded; the file is not left behind.
    os.unlink(f.name)
step = 'connect'
try:
    source = (a.get('source', '127.0.0.1'), 0)
    if a.get('tls') == 'implicit':
        s = smtplib.SMTP_SSL('127.0.0.1', a['port'], context=context, source_address=source, timeout=30)
    else:
        s = smtplib.SMTP('127.0.0.1', a['port'], source_address=source, timeout=30)
    s.ehlo('ils.library.example.org')
    if a.get('tls') == 'starttls':
        step = 'STARTTLS'
        s.starttls(context=context)
        s.ehlo('ils.library.example.org')
    if a.get('user'):
        step = 'AUTH'
        s.login(a['user'], a['password'])
    data = msg.as_bytes()
    # What smtplib.sendmail sends, one command at a time, to see each reply.
    step = 'MAIL FROM'
    code, reply = s.mail(a['from'], ['size=%d' % len(data)] if s.has_extn('size') else [])
    if code != 250: raise smtplib.SMTPResponseException(code, reply)
    for rcpt in a['to']:
        step = 'RCPT TO'
        code, reply = s.rcpt(rcpt)
        if code not in (250, 251): raise smtplib.SMTPResponseException(code, reply)
    step = 'DATA'
    code, reply = s.data(data)
    if code != 250: raise smtplib.SMTPResponseException(code, reply)
    s.quit()
    print(json.dumps({'ok': True, 'code': code, 'message': reply.decode()}))
except smtplib.SMTPResponseException as e:
    print(json.dumps({'ok': False, 'code': e.smtp_code, 'message': e.smtp_error.decode(errors='replace'), 'step': step}))
except smtplib.SMTPNotSupportedError as e:
    print(json.dumps({'ok': False, 'message': str(e), 'step': step}))
`;

/** Sends with Python's smtplib, command by command (MAIL FROM with SIZE= when the server offers SIZE). */
export const sendWithPython = (connection: ClientConnection, message: ClientMessage): Promise<ClientResult> =>
  run('python3', ['-c', PYTHON], { ...connection, ...message });

const PERL = String.raw`
use strict; use warnings;
use JSON::PP;
use Email::Simple; use Email::Simple::Creator;
use Email::Sender::Simple qw(sendmail);
use Email::Sender::Transport::SMTP;
use File::Temp qw(tempfile);
my $a = decode_json(do { local $/; <STDIN> });
my %ssl_options;
if ($a->{ca}) {
  my ($fh, $path) = tempfile(SUFFIX => '.pem', UNLINK => 1);
  print $fh $a->{ca}; close $fh;
  %ssl_options = (SSL_ca_file => $path, SSL_verifycn_name => '127.0.0.1');
}
my $email = Email::Simple->create(
  header => [ From => $a->{from}, To => join(', ', @{ $a->{to} }), Subject => $a->{subject}, %{ $a->{headers} || {} } ],
  body => $a->{text},
);
# As Koha builds its transport from an SMTP server's settings (Koha::SMTP::Server).
my $transport = Email::Sender::Transport::SMTP->new({
  host => '127.0.0.1', port => $a->{port}, timeout => 30,
  ($a->{tls} ? (ssl => ($a->{tls} eq 'implicit' ? 'ssl' : 'starttls'), ssl_options => \%ssl_options) : ()),
  ($a->{user} ? (sasl_username => $a->{user}, sasl_password => $a->{password}) : ()),
  ($a->{source} ? (localaddr => $a->{source}) : ()),
});
my $ok = eval { sendmail($email, { transport => $transport, from => $a->{from}, to => $a->{to} }); 1 };
if ($ok) { print encode_json({ ok => JSON::PP::true }), "\n"; }
else {
  my $error = $@;
  my $code = eval { $error->code } // undef;
  my $message = eval { $error->message } // "$error";
  print encode_json({ ok => JSON::PP::false, ($code ? (code => 0 + $code) : ()), message => "$message" }), "\n";
}
`;

/** Sends with Perl's Email::Sender, set up as Koha sets it up. */
export const sendWithPerl = (connection: ClientConnection, message: ClientMessage): Promise<ClientResult> =>
  run('perl', ['-e', PERL], { ...connection, ...message });

/** A raw SMTP conversation: each command's reply, multi-line replies joined. */
export interface Conversation {
  /** The greeting. */
  greeting: string;
  send(command: string): Promise<string>;
  /** Writes without waiting for a reply (the message's data, a command to hang up after). */
  write(data: string): void;
  /** Upgrades with STARTTLS (after its 220), trusting `ca`. */
  startTls(ca: string): Promise<void>;
  close(): void;
}

export const converse = async (port: number, options: { source?: string } = {}): Promise<Conversation> => {
  let socket: Socket = connect({ host: '127.0.0.1', port, localAddress: options.source });
  let buffer = '';
  let waiting: ((reply: string) => void) | undefined;
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    // A reply ends with a line whose code is followed by a space (RFC 5321 §4.2.1).
    const end = /(^|\r\n)\d{3} [^\r\n]*\r\n/.exec(buffer);
    if (end && waiting) {
      const reply = buffer.slice(0, end.index + end[0].length).trimEnd();
      buffer = buffer.slice(end.index + end[0].length);
      const resolve = waiting;
      waiting = undefined;
      resolve(reply);
    }
  };
  // A connection the server closed (or half-closed, after a 421) answers what is still asked with nothing.
  let closed = false;
  const onClose = () => {
    closed = true;
    waiting?.('');
  };
  socket.on('data', onData);
  socket.on('error', () => undefined);
  socket.on('end', onClose);
  socket.on('close', onClose);
  const next = () => new Promise<string>((resolve) => ((waiting = resolve), onData(Buffer.alloc(0))));
  const greeting = await next();
  return {
    greeting,
    send: (command) => {
      if (closed) return Promise.resolve('');
      const reply = next();
      socket.write(`${command}\r\n`);
      return reply;
    },
    write: (data) => void socket.write(data),
    startTls: async (ca) => {
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.removeListener('end', onClose);
      socket = await new Promise<Socket>((resolve, reject) => {
        const secure = tlsConnect({ socket, ca, servername: 'localhost' }, () => resolve(secure));
        secure.once('error', reject);
      });
      socket.on('data', onData);
      socket.on('end', onClose);
      socket.on('close', onClose);
    },
    close: () => socket.destroy(),
  };
};
