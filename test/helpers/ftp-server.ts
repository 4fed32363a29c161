/** An FTP edge server over a store and its catalog, on a free loopback port, with one account `u`/`p` (unit tests of src/edge/ftp). */
import type net from 'node:net';
import { Catalog } from '../../src/catalog/catalog.js';
import { createLogger } from '../../src/core/logger.js';
import { createFtpServer, type FtpServer } from '../../src/edge/ftp/ftp-server.js';
import { loadTlsContext } from '../../src/edge/ftp/ftp-tls.js';
import { FtpUsers } from '../../src/edge/ftp/ftp-users.js';
import type { BlockStore } from '../../src/store/block-store.js';
import { VirtualFile } from '../../src/vfile/virtual-file.js';

/** `tlsDir`: where its self-signed certificate goes (AUTH TLS); none: no TLS. */
export async function startFtp(store: BlockStore, catalog: Catalog = new Catalog(store), tlsDir?: string): Promise<{ ftp: FtpServer; port: number }> {
  const ftp = createFtpServer({
    catalog,
    visible: () => true,
    open: (c) => new VirtualFile(c.manifest, store, { contentId: c.contentId }),
    users: new FtpUsers([{ name: 'u', password: 'p' }]),
    secureContext: tlsDir === undefined ? undefined : loadTlsContext(tlsDir),
    requireTls: false,
    log: createLogger({ node: 'test' }, 'error'),
  });
  await new Promise<void>((resolve) => ftp.server.listen(0, '127.0.0.1', resolve));
  return { ftp, port: (ftp.server.address() as net.AddressInfo).port };
}
