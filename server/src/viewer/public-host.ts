/**
 * The address the PACS writes into the URLs of its answers (RetrieveURL, BulkDataURI), which the
 * viewer then follows. It must be this server as browsers reach it, never whatever a caller put in
 * its Host header: an answer with a foreign host in it (cached by a proxy, or read by a tool)
 * would send the next requests, credentials and all, elsewhere. In order: the configured public
 * URL; the request's Host when the host check has vetted it (no authentication, or allowed hosts
 * listed); the request's Host when it names this machine (its host name, one of its addresses, a
 * loopback name); otherwise none, and the PACS writes its own address.
 */
import os from 'node:os';
import type { Request } from 'express';
import { hostName } from '../http/host-check.js';

interface PublicHost {
  proto: string;
  host: string;
}

/** Names and addresses of this machine, as Host headers spell them (IPv6 in brackets). */
function machineHostNames(): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  const host = os.hostname().toLowerCase();
  if (host) names.add(host);
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) names.add(a.family === 'IPv6' ? `[${a.address.toLowerCase().replace(/%.*$/, '')}]` : a.address);
  }
  return names;
}

export function publicHostFor(o: { publicUrl?: string | undefined; hostVetted: boolean }): (req: Request) => PublicHost | null {
  if (o.publicUrl) {
    const u = new URL(o.publicUrl);
    const fixed = { proto: u.protocol.replace(/:$/, ''), host: u.host };
    return () => fixed;
  }
  const own = machineHostNames();
  return (req) => {
    const host = req.get('host');
    if (!host) return null;
    const name = hostName(host);
    if (name === null) return null;
    if (o.hostVetted || own.has(name)) return { proto: req.protocol, host };
    return null;
  };
}
