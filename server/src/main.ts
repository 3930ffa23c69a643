/** glmedsa-server: start the companion server from a config file and GLMEDSA_* variables. */
import { parseArgs } from 'node:util';
import { ConfigError, ENV_VARS, loadConfig } from './config/load.js';
import { propagateDicomCommand } from './cli/propagate-dicom-command.js';
import { startServer } from './server.js';

const HELP = `glmedsa-server [--config FILE.json] [--port N] [--host ADDR] [--role api|trainer|all]
glmedsa-server propagate --model DIR --dicom DIR ... (a mask through a folder of DICOM files; --help for more)

Serves GLMed-SA segmentation over HTTP for the OHIF viewer. --role (GLMEDSA_ROLE) is for a
cluster with a shared queue: 'api' answers clicks and queues jobs, 'trainer' runs the jobs, 'all'
(the default) both. Configuration: a JSON file
(--config or GLMEDSA_CONFIG) and these environment variables:
${Object.entries(ENV_VARS)
  .map(([k, v]) => `  ${k.padEnd(38)} ${v.help}`)
  .join('\n')}

Read by the launcher (on Linux it runs the server in a child with glibc's malloc arenas capped):
  ${'GLMEDSA_MALLOC_ARENA_MAX'.padEnd(38)} the cap, default 2 ('glibc' = glibc's own default); MALLOC_ARENA_MAX, when set, wins`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const env = { ...process.env };
  if (values.port) env['GLMEDSA_PORT'] = values.port;
  if (values.host) env['GLMEDSA_HOST'] = values.host;
  if (values.role) env['GLMEDSA_ROLE'] = values.role;
  const config = loadConfig({ ...(values.config ? { file: values.config } : {}), env });
  const server = await startServer(config);
  const stop = (signal: string) => {
    server.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[2] === 'propagate') {
  // A command beside the server: the models' propagation on a folder of DICOM files.
  process.exitCode = await propagateDicomCommand(process.argv.slice(3));
} else {
  main().catch(fail);
}

function fail(err: unknown): void {
  const msg = err instanceof ConfigError ? err.message : `could not start: ${(err as Error).message ?? String(err)}`;
  process.stderr.write(`glmedsa-server: ${msg}\n`);
  process.exit(1);
}
