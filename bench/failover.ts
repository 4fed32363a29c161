/** `npm run bench -- failover`, the name issue 18 gives the root failover bench: the same run as `root-failover`. */
export { run } from './root-failover.js';
