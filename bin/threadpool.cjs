// libuv's thread pool at 16 threads unless the environment already names a size (the user's
// value wins; an empty one counts as unset, as in the .deb's /usr/bin/canopy). Why 16: the
// store's block syncs each hold a pool thread for a whole journal commit (~10 ms), and with
// libuv's default of 4 the source's reads queue behind them (docs/STORE.md, "Durability").
// libuv reads UV_THREADPOOL_SIZE once, when the pool first runs a job. An ES module entry is
// too late to set it: the ES module loader reads files on the pool before any of the
// entry's code runs. A CommonJS file is read synchronously, so this runs first when it is
// the entry (bin/canopy.cjs) or preloaded (`node --require ./bin/threadpool.cjs ...`: the
// dev command and the benches' children, ahead of `--import tsx`).
'use strict';
process.env.UV_THREADPOOL_SIZE ||= '16';
