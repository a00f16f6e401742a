// Container entry point of the SMTP door on AWS (ECS Fargate, behind the Network Load Balancer): the
// environment → the door (listener.ts) → notices, with its certificate from Secrets Manager, renewed
// without a restart, and SIGTERM answered by finishing the conversations under way.
import { createSmtpDoorDeps } from '../../shared/deps';
import { errorCode } from '../../shared/errors';
import { NO_CERTIFICATE_LOG, type TlsIdentity } from '../../shared/submission/certificate';
import { startSmtpDoor } from './listener';

/** How often the certificate's secret is read again: a renewed certificate is served within this. */
const CERTIFICATE_REFRESH_MS = 5 * 60_000;

const main = async () => {
  const deps = createSmtpDoorDeps(process.env);
  const readCertificate = async (): Promise<TlsIdentity | undefined> => {
    try {
      const identity = await deps.readTlsSecret?.();
      if (!identity) deps.log.error(NO_CERTIFICATE_LOG, { reason: 'the SmtpTlsSecret output names a secret still empty: put the certificate and key in it' });
      return identity;
    } catch (error) {
      deps.log.error(NO_CERTIFICATE_LOG, { reason: (error as Error).message.slice(0, 300), code: errorCode(error) });
      return undefined;
    }
  };
  let served = await readCertificate();
  const door = await startSmtpDoor(deps, {
    ...deps.listen,
    tls: served,
    name: deps.config.smtpSubmission.hostName,
  });
  deps.log.info('smtp door listening', { submissionPort: door.submissionPort, implicitTlsPort: door.implicitTlsPort, tls: door.tls });
  const refresh = setInterval(() => {
    void readCertificate().then(async (identity) => {
      if (!identity || (served && String(identity.cert) === String(served.cert) && String(identity.key) === String(served.key))) return;
      try {
        await door.setTls(identity);
        served = identity;
        deps.log.info('smtp door certificate loaded', { implicitTlsPort: door.implicitTlsPort });
      } catch (error) {
        deps.log.error(NO_CERTIFICATE_LOG, { reason: 'the new certificate could not be served', code: errorCode(error) });
      }
    });
  }, CERTIFICATE_REFRESH_MS);
  const stop = async () => {
    clearInterval(refresh);
    // New connections are refused at once; those under way finish (smtp-server gives them 30 s).
    await door.stop();
    deps.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
};

main().catch((error: unknown) => {
  console.error(JSON.stringify({ level: 'ERROR', message: 'smtp door did not start', code: errorCode(error), reason: (error as Error).message?.slice(0, 300) }));
  process.exit(1);
});
