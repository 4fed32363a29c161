#!/usr/bin/env node
// The `canopy` command as shipped (package.json "bin", `npm start`, the .deb's
// /usr/bin/canopy): a CommonJS entry, so that the thread-pool size is set before anything
// uses the pool (threadpool.cjs says why), then the program, an ES module.
'use strict';
require('./threadpool.cjs');
void import('../dist/cli/main.js');
