/**
 * The Orthanc configuration the project runs with (loopback-only, DICOMweb on, no DICOM listener
 * unless asked, storage in a given folder), and discovery of the Orthanc binary and the DICOMweb
 * plugin.
 */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';

/** Where Debian/Ubuntu, other distributions and the Osimis images put the DICOMweb plugin. */
const KNOWN_DICOMWEB_PLUGIN_PATHS: readonly string[] = [
  '/usr/share/orthanc/plugins/libOrthancDicomWeb.so',
  '/usr/lib/orthanc/plugins/libOrthancDicomWeb.so',
  '/usr/local/share/orthanc/plugins/libOrthancDicomWeb.so',
  '/usr/local/lib/orthanc/plugins/libOrthancDicomWeb.so',
  '/usr/share/orthanc/plugins-available/libOrthancDicomWeb.so',
];

/** Where the Orthanc binary usually is. */
const KNOWN_ORTHANC_BINARIES: readonly string[] = ['/usr/sbin/Orthanc', '/usr/bin/Orthanc', '/usr/local/bin/Orthanc', '/usr/local/sbin/Orthanc'];

/** How to install what is missing. */
const INSTALL_HINT = 'apt-get install -y orthanc orthanc-dicomweb';

/** Thrown when Orthanc or its DICOMweb plugin cannot be found. */
export class OrthancNotInstalled extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrthancNotInstalled';
  }
}

async function firstAccessible(paths: readonly string[], mode: number): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path, mode);
      return path;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** The Orthanc binary: env ORTHANC_BIN, else the first known location that is executable. */
export async function findOrthancBinary(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env['ORTHANC_BIN'];
  const candidates = fromEnv ? [fromEnv] : KNOWN_ORTHANC_BINARIES;
  const found = await firstAccessible(candidates, constants.X_OK);
  if (found === undefined) {
    throw new OrthancNotInstalled(
      fromEnv
        ? `Orthanc is not installed at ORTHANC_BIN=${fromEnv} (not an executable file): ${INSTALL_HINT}`
        : `Orthanc is not installed (looked in ${KNOWN_ORTHANC_BINARIES.join(', ')}): ${INSTALL_HINT}`,
    );
  }
  return found;
}

/** The DICOMweb plugin: env ORTHANC_DICOMWEB_PLUGIN, else the first known location that exists. */
export async function findDicomWebPlugin(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env['ORTHANC_DICOMWEB_PLUGIN'];
  const candidates = fromEnv ? [fromEnv] : KNOWN_DICOMWEB_PLUGIN_PATHS;
  const found = await firstAccessible(candidates, constants.R_OK);
  if (found === undefined) {
    throw new OrthancNotInstalled(
      fromEnv
        ? `The Orthanc DICOMweb plugin is not at ORTHANC_DICOMWEB_PLUGIN=${fromEnv}: ${INSTALL_HINT}`
        : `The Orthanc DICOMweb plugin is not installed (looked in ${KNOWN_DICOMWEB_PLUGIN_PATHS.join(', ')}): ${INSTALL_HINT}`,
    );
  }
  return found;
}

/** Inputs of {@link orthancConfig}. */
interface OrthancConfigInput {
  readonly name: string;
  readonly dataDir: string;
  readonly httpPort: number;
  /** Enables the DICOM (DIMSE) listener on this port; off when undefined. */
  readonly dicomPort?: number | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly dicomWebPlugin: string;
}

/** A JSON value (what the configuration is made of). */
type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * The configuration file contents. Orthanc 1.10 listens on all interfaces (there is no bind
 * address option before `HttpBindAddresses`, added in 2025; older versions ignore the key), so
 * `RemoteAccessAllowed: false` is what keeps other hosts out: Orthanc answers them 403.
 */
export function orthancConfig(input: OrthancConfigInput): { readonly [key: string]: JsonValue } {
  const auth = input.username !== undefined && input.password !== undefined;
  return {
    Name: input.name,
    StorageDirectory: join(input.dataDir, 'storage'),
    IndexDirectory: join(input.dataDir, 'index'),
    StorageCompression: false,
    HttpServerEnabled: true,
    HttpPort: input.httpPort,
    HttpBindAddresses: ['127.0.0.1'],
    RemoteAccessAllowed: false,
    HttpDescribeErrors: true,
    AuthenticationEnabled: auth,
    ...(auth ? { RegisteredUsers: { [input.username!]: input.password! } } : {}),
    DicomServerEnabled: input.dicomPort !== undefined,
    DicomPort: input.dicomPort ?? 4242,
    DicomAet: 'GLMEDSA',
    WebDavEnabled: false,
    SaveJobs: false,
    LuaScripts: [],
    ExecuteLuaEnabled: false,
    OverwriteInstances: false,
    Plugins: [input.dicomWebPlugin],
    DicomWeb: {
      Enable: true,
      Root: '/dicom-web/',
      EnableWado: false,
      Ssl: false,
    },
  };
}
